using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Solo.Bench.Hosting;
using Solo.Bench.Measurement;
using Solo.Bench.Scenarios.Drain;

namespace Solo.Bench.Scenarios;

/// <summary>
/// End-to-end drain: 10 rounds over 10,000 keys, 100,000 no-op Coalesce tasks in all. Enqueueing
/// 100,000 tasks of random keys up front would coalesce them into about 10,000 runs, so each key's
/// next round is enqueued only once its previous round has started (its queue slot is free again):
/// every enqueue is accepted and every accepted task runs, which is what "100,000 unique tasks over
/// 10,000 keys" should mean. Workers run from the start; round 0 of every key is enqueued in batches
/// of 32 while they already drain it, and later rounds are enqueued, in batches of up to 32, as their
/// predecessors start. The queue so stays about one task per key deep, which the enqueue-to-start
/// latency reflects. The baseline is the same drain of tasks that are not unique.
/// </summary>
internal sealed class DrainScenario : IScenario
{
    private const int Rounds = 10;
    private const int BatchSize = 32;
    private const int Concurrency = 8;

    // The default (1 s) would stall a key for a second on the rare start that meets its previous run
    // still settling; the drain measures throughput, not that wait.
    private static readonly TimeSpan RescheduleDelay = TimeSpan.FromMilliseconds(10);

    public string Name => "drain";

    public async Task RunAsync(ScenarioContext context, JsonObject report, CancellationToken cancellationToken)
    {
        var keys = context.Scale(10_000);
        var timeout = TimeSpan.FromSeconds(context.Quick ? 60 : 120);
        ScenarioContext.Note($"drain: warming up, then {keys:N0} keys x {Rounds} rounds, unique and not");
        var (warmMin, warmMax) = context.Quick ? (TimeSpan.Zero, TimeSpan.Zero) : (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
        // All keys, so warm-up walks the same code paths (collection sizes, compactions) as the measured run.
        await Warmup.RunAsync("drain unique", () => RunOnceAsync(context, unique: true, keys, 2, timeout, cancellationToken), warmMin, warmMax, cancellationToken);
        await Warmup.RunAsync("drain not unique", () => RunOnceAsync(context, unique: false, keys, 2, timeout, cancellationToken), warmMin, warmMax, cancellationToken);

        var unique = await RunOnceAsync(context, unique: true, keys, Rounds, timeout, cancellationToken);
        ScenarioContext.Note($"drain: unique {unique.Executed:N0} runs, {unique.ExecutionsPerSec:N0}/s");
        var plain = await RunOnceAsync(context, unique: false, keys, Rounds, timeout, cancellationToken);
        ScenarioContext.Note($"drain: not unique {plain.Executed:N0} runs, {plain.ExecutionsPerSec:N0}/s");

        Report.Merge(report, Report.Throughput(unique.Executed, unique.Running));

        report["mode"] = "Coalesce";
        report["keys"] = keys;
        report["rounds"] = Rounds;
        report["feeding"] = "concurrent: workers run from the start; round 0 in batches of 32, each later round of a key enqueued (batched up to 32) once its previous round started";
        report["concurrency"] = Concurrency;
        report["rescheduleDelayMs"] = RescheduleDelay.TotalMilliseconds;
        Report.Merge(report, unique.ToJson());

        var baseline = plain.ToJson();
        baseline["kind"] = "same drain, tasks not unique";
        report["baseline"] = baseline;
        report["ratio"] = Report.Ratio(unique.ExecutionsPerSec, plain.ExecutionsPerSec);
    }

    private static async Task<DrainRun> RunOnceAsync(ScenarioContext context, bool unique, int keys, int rounds, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var backend = await context.Backend.CreateAsync(cancellationToken);
        var locks = new CountingLockStore(backend.Locks);
        var probe = new DrainProbe(keys * rounds);
        await using var host = BenchHost.Create(
            backend,
            context.Log,
            solo => solo.AddTask<DrainTask, DrainArgs>("bench.drain", task =>
            {
                if (unique)
                {
                    task.Unique(u => u.Coalesce().Key(a => a.Key).RescheduleDelay(RescheduleDelay));
                }
            }),
            worker: w =>
            {
                w.Concurrency = Concurrency;
                w.ShutdownTimeout = TimeSpan.FromSeconds(5);
            },
            services: s => s.AddSingleton(probe),
            locks: locks);
        ResourceMeter.CollectGarbage();
        await host.StartAsync(cancellationToken);

        using var feedTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        feedTimeout.CancelAfter(timeout);
        var gc = ResourceMeter.Start();
        var feedStart = Stopwatch.GetTimestamp();
        var feed = await FeedAsync(host.Client, probe, keys, rounds, feedTimeout.Token);
        cancellationToken.ThrowIfCancellationRequested();
        var timedOut = feed.TimedOut || !await Poll.UntilAsync(() => ValueTask.FromResult(probe.Executed >= feed.Enqueued), timeout, cancellationToken);
        var lastEnd = probe.LastEnd;
        var resources = gc.Stop();
        var state = await BackendState.SettleAsync(backend, TimeSpan.FromSeconds(5), cancellationToken);
        await host.StopAsync();
        return new DrainRun(feed, probe.Executed, feedStart, probe.FirstStart, lastEnd, LatencyStats.FromTicks(probe.Latencies), locks.StartRefusals, state, timedOut, resources);
    }

    /// <returns>What was enqueued; when <paramref name="cancellationToken"/> fires, what was enqueued until then.</returns>
    private static async Task<FeedResult> FeedAsync(ISoloClient client, DrainProbe probe, int keys, int rounds, CancellationToken cancellationToken)
    {
        var calls = 0;
        var enqueued = 0;
        var duplicates = 0;
        var openChains = keys;
        var batch = new List<DrainArgs>(BatchSize);

        async Task EnqueueAsync()
        {
            var results = await client.EnqueueManyAsync(batch, null, cancellationToken);
            calls++;
            foreach (var result in results)
            {
                if (result.Outcome == EnqueueOutcome.Duplicate)
                {
                    // The key's next round would wait for a start that this enqueue never gets.
                    duplicates++;
                    openChains--;
                }
                else
                {
                    enqueued++;
                }
            }

            batch.Clear();
        }

        try
        {
            for (var key = 0; key < keys; key += BatchSize)
            {
                var stamp = Stopwatch.GetTimestamp();
                for (var k = key; k < Math.Min(keys, key + BatchSize); k++)
                {
                    batch.Add(new DrainArgs(k, 0, stamp));
                }

                await EnqueueAsync();
            }

            var started = probe.Started;
            while (openChains > 0 && await started.WaitToReadAsync(cancellationToken))
            {
                var stamp = Stopwatch.GetTimestamp();
                while (batch.Count < BatchSize && started.TryRead(out var run))
                {
                    if (run.Round + 1 < rounds)
                    {
                        batch.Add(new DrainArgs(run.Key, run.Round + 1, stamp));
                    }
                    else
                    {
                        openChains--;
                    }
                }

                if (batch.Count > 0)
                {
                    await EnqueueAsync();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new FeedResult(calls, enqueued, duplicates, TimedOut: true);
        }

        return new FeedResult(calls, enqueued, duplicates, TimedOut: false);
    }
}
