using System.Text.Json.Nodes;
using Solo.Bench.Hosting;
using Solo.Bench.Measurement;
using Solo.Bench.Scenarios.Raw;
using Solo.Bench.Scenarios.UniqueEnqueue;

namespace Solo.Bench.Scenarios;

/// <summary>
/// Enqueue throughput of unique tasks (Coalesce, a fresh key per task, so every enqueue takes a slot and
/// publishes) in three shapes: one caller awaiting each enqueue, many concurrent callers, and one caller
/// enqueueing batches. Each shape is compared with the bare lock store and broker calls an enqueue
/// cannot do without, at the same concurrency: the ratio is what Solo keeps of that.
/// </summary>
/// <remarks>
/// Nothing drains the queue, so every enqueued task stays in memory until its backend is dropped. A run
/// of millions would then measure the garbage collector promoting an ever larger live set, for Solo and
/// raw alike, so each measurement is split into segments on fresh backends.
/// </remarks>
internal sealed class UniqueEnqueueScenario(IRawEnqueue? baseline = null) : IScenario
{
    private readonly IRawEnqueue _raw = baseline ?? new StoreCallsRawEnqueue();

    private const int ConcurrentCallers = 50;
    private const int BatchSize = 32;
    private const int YieldEvery = 64;
    private const int Segments = 5;

    public string Name => "unique-enqueue";

    public async Task RunAsync(ScenarioContext context, JsonObject report, CancellationToken cancellationToken)
    {
        var duration = context.Scale(TimeSpan.FromSeconds(2.5));
        var warmupSegment = context.Scale(TimeSpan.FromMilliseconds(300));
        var (warmMin, warmMax) = context.Quick ? (TimeSpan.Zero, TimeSpan.Zero) : (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Variant[] variants =
        [
            new("single", 1, 1),
            new("concurrent", ConcurrentCallers, 1),
            new("batch", 1, BatchSize),
        ];

        var results = new List<(Variant Variant, JsonObject Json)>();
        long totalOps = 0;
        var totalElapsed = TimeSpan.Zero;
        foreach (var variant in variants)
        {
            ScenarioContext.Note($"unique-enqueue/{variant.Name}: warming up, then {duration.TotalSeconds:0.##} s of Solo and {duration.TotalSeconds:0.##} s of raw calls");
            var warmBytes = 0;
            await Warmup.RunAsync($"unique-enqueue/{variant.Name}", async () => (_, _, warmBytes) = await MeasureSoloAsync(context, variant, warmupSegment, 1, cancellationToken), warmMin, warmMax, cancellationToken);
            await Warmup.RunAsync($"unique-enqueue/{variant.Name} raw", () => MeasureRawAsync(context, _raw, variant, warmupSegment, 1, warmBytes, cancellationToken), warmMin, warmMax, cancellationToken);

            var (solo, unexpected, messageBytes) = await MeasureSoloAsync(context, variant, duration, Segments, cancellationToken);
            var (raw, rawUnexpected) = await MeasureRawAsync(context, _raw, variant, duration, Segments, messageBytes, cancellationToken);
            totalOps += solo.Ops;
            totalElapsed += solo.Elapsed;

            var json = new JsonObject
            {
                ["callers"] = variant.Callers,
                ["batchSize"] = variant.Batch,
            };
            Report.Merge(json, solo.ToJson());
            json["callersWithOps"] = solo.CallersWithOps;
            json["notEnqueued"] = unexpected;
            json["messageBytes"] = messageBytes;
            var rawJson = new JsonObject { ["kind"] = _raw.Kind };
            Report.Merge(rawJson, raw.ToJson());
            rawJson["callersWithOps"] = raw.CallersWithOps;
            rawJson["notAcquired"] = rawUnexpected;
            json["raw"] = rawJson;
            json["ratio"] = Report.Ratio(solo.OpsPerSec, raw.OpsPerSec);
            results.Add((variant, json));
            ScenarioContext.Note($"unique-enqueue/{variant.Name}: {solo.OpsPerSec:N0}/s, raw {raw.OpsPerSec:N0}/s");
        }

        // The top-level figures are the three shapes together; compare shapes by their own objects.
        Report.Merge(report, Report.Throughput(totalOps, totalElapsed));
        report["durationPerRunMs"] = Report.Ms(duration);
        report["segmentsPerRun"] = Segments;
        foreach (var (variant, json) in results)
        {
            report[variant.Name] = json;
        }
    }

    private static async Task<(LoopResult Result, long NotEnqueued, int MessageBytes)> MeasureSoloAsync(ScenarioContext context, Variant variant, TimeSpan duration, int segments, CancellationToken cancellationToken)
    {
        LoopResult? total = null;
        long notEnqueued = 0;
        var messageBytes = 0;
        for (var i = 0; i < segments; i++)
        {
            var (result, missed, bytes) = await MeasureSoloSegmentAsync(context, variant, duration / segments, cancellationToken);
            total = total is null ? result : total + result;
            notEnqueued += missed;
            messageBytes = Math.Max(messageBytes, bytes);
        }

        return (total!, notEnqueued, messageBytes);
    }

    private static async Task<(LoopResult Result, long NotAcquired)> MeasureRawAsync(ScenarioContext context, IRawEnqueue raw, Variant variant, TimeSpan duration, int segments, int messageBytes, CancellationToken cancellationToken)
    {
        LoopResult? total = null;
        long notAcquired = 0;
        for (var i = 0; i < segments; i++)
        {
            var (result, missed) = await MeasureRawSegmentAsync(context, raw, variant, duration / segments, messageBytes, cancellationToken);
            total = total is null ? result : total + result;
            notAcquired += missed;
        }

        return (total!, notAcquired);
    }

    private static async Task<(LoopResult Result, long NotEnqueued, int MessageBytes)> MeasureSoloSegmentAsync(ScenarioContext context, Variant variant, TimeSpan duration, CancellationToken cancellationToken)
    {
        await using var backend = await context.Backend.CreateAsync(cancellationToken);
        await using var host = BenchHost.Create(backend, context.Log, solo => solo.AddTask<EnqueueTask, EnqueueArgs>("bench.enqueue", task => task.Unique(unique => unique.Coalesce().Key(a => a.Id))));
        var client = host.Client;
        long notEnqueued = 0;
        Func<int, long, ValueTask<int>> operation = variant.Batch == 1
            ? async (_, sequence) =>
            {
                var result = await client.EnqueueAsync(new EnqueueArgs(sequence), cancellationToken);
                if (result.Outcome != EnqueueOutcome.Enqueued)
                {
                    Interlocked.Increment(ref notEnqueued);
                    return 0;
                }

                return 1;
            }
        : async (_, sequence) =>
        {
            var args = new EnqueueArgs[variant.Batch];
            for (var i = 0; i < args.Length; i++)
            {
                args[i] = new EnqueueArgs((sequence * variant.Batch) + i);
            }

            var results = await client.EnqueueManyAsync(args, null, cancellationToken);
            var enqueued = results.Count(r => r.Outcome == EnqueueOutcome.Enqueued);
            if (enqueued != args.Length)
            {
                Interlocked.Add(ref notEnqueued, args.Length - enqueued);
            }

            return enqueued;
        };

        var result = await CallerLoop.RunAsync(variant.Callers, duration, variant.Callers > 1 ? YieldEvery : 0, operation, cancellationToken);

        // The raw baseline publishes bodies of the size Solo's envelope has, so both move the same bytes.
        // A wait, not zero: a server broker's consumer needs a moment to bring its first message over.
        var sample = await backend.Broker.ReceiveAsync(backend.Queue, 1, TimeSpan.FromSeconds(2), cancellationToken);
        return (result, notEnqueued, sample.Count > 0 ? sample[0].Body.Length : 0);
    }

    private static async Task<(LoopResult Result, long NotAcquired)> MeasureRawSegmentAsync(ScenarioContext context, IRawEnqueue raw, Variant variant, TimeSpan duration, int messageBytes, CancellationToken cancellationToken)
    {
        await using var backend = await context.Backend.CreateAsync(cancellationToken);
        await using var segment = await raw.StartAsync(backend, variant.Batch, messageBytes, cancellationToken);
        var result = await CallerLoop.RunAsync(variant.Callers, duration, variant.Callers > 1 ? YieldEvery : 0, segment.Operation, cancellationToken);
        return (result, segment.Misses);
    }

    private sealed record Variant(string Name, int Callers, int Batch);
}
