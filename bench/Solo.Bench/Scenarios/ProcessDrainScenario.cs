using System.Diagnostics;
using System.Text.Json.Nodes;
using Solo.Bench.Hosting;
using Solo.Bench.Measurement;
using Solo.Bench.Scenarios.ProcessDrain;

namespace Solo.Bench.Scenarios;

/// <summary>
/// End-to-end drain across processes on a SQLite file: 20,000 no-op unique tasks (a key each), enqueued by
/// this process in batches of 32 and run by 1, then 3, worker processes (this executable re-launched in its
/// <c>worker</c> mode, configured with UseSqlite as an app would be). The feeder keeps at most
/// <see cref="Window"/> tasks enqueued but not started, so that the enqueue-to-start latency measures the
/// path through the file and the workers' polling rather than an ever deeper backlog. Each set of processes
/// first drains a tenth as many tasks, unmeasured, so that their JIT has tiered up.
/// </summary>
internal sealed class ProcessDrainScenario : IScenario
{
    private const int BatchSize = 32;
    private const int Window = 512;
    private const int ConcurrencyPerProcess = 8;

    public string Name => "drain-processes";

    public async Task RunAsync(ScenarioContext context, JsonObject report, CancellationToken cancellationToken)
    {
        var tasks = context.Scale(20_000);
        var runs = new JsonObject();
        TimeSpan running = default;
        long executed = 0;
        foreach (var processes in new[] { 1, 3 })
        {
            ScenarioContext.Note($"drain-processes: {processes} worker process(es) x {ConcurrencyPerProcess}, {tasks:N0} unique tasks");
            var json = await RunOnceAsync(context, processes, tasks, cancellationToken);
            runs[processes == 1 ? "processes1" : "processes3"] = json;
            executed += json["executed"]!.GetValue<int>();
            running += TimeSpan.FromMilliseconds(json["runningMs"]!.GetValue<double>());
            ScenarioContext.Note($"drain-processes: {processes} process(es) {json["executionsPerSec"]}/s, p50 {json["enqueueToStart"]!["p50Ms"]} ms");
        }

        // Top level: both runs added up; compare them by their own objects.
        Report.Merge(report, Report.Throughput(executed, running));
        report["mode"] = "Coalesce, a key per task";
        report["batchSize"] = BatchSize;
        report["window"] = Window;
        report["concurrencyPerProcess"] = ConcurrencyPerProcess;
        report["pollIntervalMs"] = new Solo.Sqlite.SqliteOptions().PollInterval.TotalMilliseconds;
        foreach (var (name, value) in runs.ToArray())
        {
            runs.Remove(name);
            report[name] = value;
        }
    }

    private static async Task<JsonObject> RunOnceAsync(ScenarioContext context, int processes, int tasks, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(120);
        var warm = Math.Max(100, tasks / 10);
        await using var backend = await context.Backend.CreateAsync(cancellationToken);
        var path = backend.SqlitePath ?? throw new InvalidOperationException("drain-processes needs a SQLite backend");
        await using var host = BenchHost.Create(backend, context.Log, solo => ProcessDrainTaskRegistration.Add(solo));
        var collector = new StartCollector(tasks + warm);
        var workers = new List<WorkerHandle>();
        try
        {
            for (var i = 0; i < processes; i++)
            {
                workers.Add(WorkerHandle.Start(path, backend.Queue, backend.LockPrefix, ConcurrencyPerProcess, collector));
            }

            foreach (var worker in workers)
            {
                await worker.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
            }

            // Warm-up: ids from the top of the range, so the measured ids are fresh keys.
            var (warmEnqueued, _, _) = await FeedAsync(host.Client, collector, 1L << 40, warm, cancellationToken);
            await Poll.UntilAsync(() => ValueTask.FromResult(collector.Started >= warmEnqueued), timeout, cancellationToken);
            await Task.Delay(200, cancellationToken);
            collector.Reset();

            ResourceMeter.CollectGarbage();
            var gc = ResourceMeter.Start();
            var feedStart = Stopwatch.GetTimestamp();
            var (enqueued, duplicates, calls) = await FeedAsync(host.Client, collector, 0, tasks, cancellationToken);
            var drained = await Poll.UntilAsync(() => ValueTask.FromResult(collector.Started >= enqueued), timeout, cancellationToken);
            var resources = gc.Stop();
            var state = await BackendState.SettleAsync(backend, TimeSpan.FromSeconds(5), cancellationToken);

            var runningTime = Stopwatch.GetElapsedTime(collector.FirstStart, collector.LastStart);
            var total = Stopwatch.GetElapsedTime(feedStart, collector.LastStart);
            var json = new JsonObject
            {
                ["processes"] = processes,
                ["enqueueCalls"] = calls,
                ["enqueued"] = enqueued,
                ["duplicates"] = duplicates,
                ["executed"] = collector.Started,
                ["runningMs"] = Report.Ms(runningTime),
                ["executionsPerSec"] = Report.Rate(collector.Started, runningTime),
                ["totalMs"] = Report.Ms(total),
                ["totalPerSec"] = Report.Rate(collector.Started, total),
                ["enqueueToStart"] = LatencyStats.FromTicks(collector.Latencies).ToJson(),
            };
            state.AddTo(json);
            json["timedOut"] = !drained;
            var producer = resources.ToJson(enqueued);
            producer["note"] = "this process only (enqueuing); the workers' CPU is not counted";
            json["producer"] = producer;

            var warnings = 0;
            var errors = 0;
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
                warnings += worker.Warnings;
                errors += worker.Errors;
            }

            workers.Clear();
            json["workerWarnings"] = warnings;
            json["workerErrors"] = errors;
            return json;
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    private static async Task<(int Enqueued, int Duplicates, int Calls)> FeedAsync(ISoloClient client, StartCollector collector, long firstId, int count, CancellationToken cancellationToken)
    {
        var enqueued = 0;
        var duplicates = 0;
        var calls = 0;
        var startedBefore = collector.Started;
        var batch = new List<ProcessDrainArgs>(BatchSize);
        for (var offset = 0; offset < count; offset += BatchSize)
        {
            while (enqueued - (collector.Started - startedBefore) > Window)
            {
                await Task.Delay(1, cancellationToken);
            }

            var stamp = Stopwatch.GetTimestamp();
            for (var i = offset; i < Math.Min(count, offset + BatchSize); i++)
            {
                batch.Add(new ProcessDrainArgs(firstId + i, stamp));
            }

            var results = await client.EnqueueManyAsync(batch, null, cancellationToken);
            calls++;
            foreach (var result in results)
            {
                _ = result.Outcome == EnqueueOutcome.Duplicate ? duplicates++ : enqueued++;
            }

            batch.Clear();
        }

        return (enqueued, duplicates, calls);
    }
}
