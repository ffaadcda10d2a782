using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Solo.Bench.Hosting;
using Solo.Bench.Measurement;
using Solo.Bench.Scenarios.Contention;

namespace Solo.Bench.Scenarios;

/// <summary>
/// The uniqueness stress case under a stopwatch: 20,000 enqueues over 50 keys from 4 producers (each
/// owns a quarter of the keys, so a key's events are ordered), 8 concurrent workers as 4 worker hosts of
/// 2 sharing one broker and lock store, as 4 processes would, tasks of a random 0-2 ms. It reports what
/// the contention cost (elapsed, start refusals) and what it must never cost (violations, lost updates,
/// lost tasks, double runs, leftover locks); there is no baseline, a run without uniqueness would run
/// every event and measure something else.
/// </summary>
internal sealed class ContentionScenario(string name, UniqueMode mode) : IScenario
{
    private const int Keys = 50;
    private const int Producers = 4;
    private const int Hosts = 4;
    private const int ConcurrencyPerHost = 2;

    // Each producer pauses 1 ms after every 16 of its enqueues (64 events across the 4), so that the
    // enqueues spread over the run instead of all landing before the first run starts.
    private const int PauseEvery = 16;
    private static readonly TimeSpan RescheduleDelay = TimeSpan.FromMilliseconds(2);

    public string Name => name;

    public async Task RunAsync(ScenarioContext context, JsonObject report, CancellationToken cancellationToken)
    {
        var events = context.Scale(20_000);
        ScenarioContext.Note($"{name}: {events:N0} enqueues over {Keys} keys, {mode}, {Hosts}x{ConcurrencyPerHost} workers");
        if (!context.Quick)
        {
            await Warmup.RunAsync(name, () => RunOnceAsync(context, events / 10, new JsonObject(), cancellationToken), TimeSpan.Zero, TimeSpan.FromSeconds(3), cancellationToken);
        }

        await RunOnceAsync(context, events, report, cancellationToken);
    }

    private async Task RunOnceAsync(ScenarioContext context, int events, JsonObject report, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(context.Quick ? 60 : 120);

        await using var backend = await context.Backend.CreateAsync(cancellationToken);
        var locks = new CountingLockStore(backend.Locks);
        var probe = new ContentionProbe(Keys, mode);
        var hosts = new BenchHost[Hosts];
        for (var i = 0; i < Hosts; i++)
        {
            hosts[i] = BenchHost.Create(
                backend,
                context.Log,
                solo => solo
                    .AddTask<ContentionTask, ContentionArgs>("bench.contention", task => task.Retry(1).Unique(u =>
                    {
                        _ = mode == UniqueMode.UntilExecuted ? u.UntilExecuted() : u.Coalesce();
                        u.Key(a => a.Key).RescheduleDelay(RescheduleDelay);
                    }))
                    .UseMiddleware(new ContentionMiddleware(probe)),
                worker: w =>
                {
                    w.Concurrency = ConcurrencyPerHost;
                    w.ReceiveWait = TimeSpan.FromMilliseconds(20);
                    w.ShutdownTimeout = TimeSpan.FromSeconds(5);
                },
                services: s => s.AddSingleton(probe),
                locks: locks);
        }

        try
        {
            ResourceMeter.CollectGarbage();
            foreach (var host in hosts)
            {
                await host.StartAsync(cancellationToken);
            }

            var client = hosts[0].Client;
            var results = new ConcurrentBag<EnqueueResult>();
            var gc = ResourceMeter.Start();
            var start = Stopwatch.GetTimestamp();
            var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(
                async () =>
                {
                    var owned = (Keys - p + Producers - 1) / Producers;
                    var sent = 0;
                    for (var i = p; i < events; i += Producers)
                    {
                        var key = (Random.Shared.Next(owned) * Producers) + p;
                        probe.BeforeEnqueue(key);
                        results.Add(await client.EnqueueAsync(new ContentionArgs(key), cancellationToken));
                        if (++sent % PauseEvery == 0)
                        {
                            await Task.Delay(1, cancellationToken);
                        }
                    }
                },
                cancellationToken)).ToArray();
            await Task.WhenAll(producers);
            var enqueueElapsed = Stopwatch.GetElapsedTime(start);

            var drained = await Poll.UntilAsync(
                async () => (await backend.Broker.GetCountsAsync(backend.Queue, cancellationToken)).Pending == 0 && probe.RunningNow == 0,
                timeout,
                cancellationToken,
                quietPolls: 3);
            var elapsed = Stopwatch.GetElapsedTime(start, Math.Max(probe.LastEnd, start));
            var resources = gc.Stop();
            foreach (var host in hosts)
            {
                await host.StopAsync();
            }

            var state = await BackendState.SettleAsync(backend, TimeSpan.FromSeconds(2), cancellationToken);
            var accepted = results.Where(r => r.Outcome != EnqueueOutcome.Duplicate).Select(r => r.TaskId).ToArray();

            Report.Merge(report, Report.Throughput(events, elapsed));

            report["mode"] = mode.ToString();
            report["keys"] = Keys;
            report["producers"] = Producers;
            report["workerHosts"] = Hosts;
            report["concurrencyPerHost"] = ConcurrencyPerHost;
            report["taskMs"] = "random 0-2";
            report["rescheduleDelayMs"] = RescheduleDelay.TotalMilliseconds;
            report["enqueueMs"] = Report.Ms(enqueueElapsed);
            report["enqueued"] = accepted.Length;
            report["duplicates"] = results.Count - accepted.Length;
            report["executions"] = probe.Executions;
            report["executionsPerSec"] = Report.Rate(probe.Executions, elapsed);
            report["avgRunMs"] = Report.Ms(probe.AverageRunMs);
            report["workerBusy"] = Report.Ratio(probe.AverageRunMs * probe.Executions, Hosts * ConcurrencyPerHost * elapsed.TotalMilliseconds);
            report["startRefusals"] = locks.StartRefusals;
            report["maxRunningPerKey"] = probe.MaxRunningPerKey;
            if (mode == UniqueMode.UntilExecuted)
            {
                report["maxQueuedPerKey"] = probe.MaxQueuedPerKey;
            }

            report["violations"] = probe.Violations;
            if (mode == UniqueMode.Coalesce)
            {
                // Coalesce may drop an accepted task that a later pending one covers; what it must not drop is an event.
                report["lostUpdates"] = probe.LostUpdates();
            }
            else
            {
                report["lostTasks"] = probe.NeverRan(accepted);
            }

            report["doubleRuns"] = probe.DoubleRuns;
            state.AddTo(report);
            report["timedOut"] = !drained;
            Report.Merge(report, resources.ToJson(events));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }
}
