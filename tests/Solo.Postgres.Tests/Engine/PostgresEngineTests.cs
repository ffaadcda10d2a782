using System.Collections.Concurrent;
using System.Diagnostics;
using Solo.Postgres.Tests.Support;
using Solo.Tests.Support;

namespace Solo.Postgres.Tests.Engine;

/// <summary>Solo's engine (client, worker, unique slots) on the PostgreSQL broker and lock store, set up as an app does.</summary>
public sealed class PostgresEngineTests
{
    [Fact]
    public async Task RunAsync_CoalesceTaskEnqueuedManyTimesOverFewKeys_NeverOverlapsLosesNoEventAndLeavesNoLock()
    {
        const int events = 400;
        const int keys = 5;
        var connectionString = await FreshDatabase.CreateAsync();
        await using var app = SoloHarness.CreateApp(
            s => s.UsePostgres(connectionString),
            t => t.Unique(u => u.Coalesce().Key(w => w.Key).RescheduleDelay(TimeSpan.FromMilliseconds(20))),
            w =>
            {
                w.Concurrency = 8;
                w.ReceiveWait = TimeSpan.FromMilliseconds(200);
            });
        var running = new ConcurrentDictionary<int, int>();
        var lastStart = new ConcurrentDictionary<int, long>();
        var overlaps = 0;
        app.Probe.OnRun = async (work, _, ct) =>
        {
            lastStart[work.Key] = Stopwatch.GetTimestamp();
            if (running.AddOrUpdate(work.Key, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            try
            {
                await Task.Delay(Random.Shared.Next(1, 5), ct);
            }
            finally
            {
                running.AddOrUpdate(work.Key, 0, (_, n) => n - 1);
            }
        };
        await app.StartWorkerAsync();

        var lastEnqueue = new long[keys];
        var outcomes = new ConcurrentBag<EnqueueOutcome>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(producer => Task.Run(async () =>
        {
            for (var i = producer; i < events; i += 4)
            {
                var key = i % keys;
                Volatile.Write(ref lastEnqueue[key], Math.Max(Volatile.Read(ref lastEnqueue[key]), Stopwatch.GetTimestamp()));
                outcomes.Add((await app.Client.EnqueueAsync(new Work(key, i))).Outcome);
            }
        })));
        await app.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, overlaps);
        Assert.Contains(EnqueueOutcome.Duplicate, outcomes);
        Assert.Equal(outcomes.Count(o => o == EnqueueOutcome.Enqueued), app.Probe.Completions.Count);
        for (var key = 0; key < keys; key++)
        {
            // Coalesce: every event is followed by a run that started after it.
            Assert.True(lastStart.TryGetValue(key, out var started) && started > lastEnqueue[key], $"key {key} has no run after its last event");
        }

        Assert.Empty(await app.LocksLeftAsync());
        Assert.Equal(0, (await app.Broker.GetCountsAsync("default", default)).Pending);
    }
}
