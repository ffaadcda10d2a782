using System.Diagnostics;
using Solo.Brokers;
using Solo.Redis.Tests.Support;
using Solo.Tests.Support;

namespace Solo.Redis.Tests.Engine;

/// <summary>
/// Redis restarted under a running app. The server of this test is its own, with an append-only file
/// synced on every write (<c>--appendonly yes --appendfsync always</c>), so that every enqueue Redis
/// acknowledged survives the restart: the test expects none of them lost. (Without persistence a restart
/// loses whatever Redis held, and the test would fail.)
/// </summary>
public sealed class RedisRestartTests
{
    [Fact]
    public async Task Restart_WhileAppRuns_EnqueueFailsFastWhileDownAndWorkerResumesAlone()
    {
        using var server = RedisServer.Start("--appendonly", "yes", "--appendfsync", "always");
        await using var app = SoloHarness.CreateApp(
            s => s.UseRedis(server.Configuration, b => b.DeliveryLease = TimeSpan.FromSeconds(2)),
            t => t.Unique(u => u.Coalesce().Key(w => w.Key).RescheduleDelay(TimeSpan.FromMilliseconds(50))),
            w => w.ReceiveWait = TimeSpan.FromMilliseconds(200));
        app.Probe.OnRun = (w, _, _) => w.Value == 7 ? Task.Delay(800) : Task.CompletedTask;
        await app.StartWorkerAsync();
        var acknowledged = new List<string>();

        async Task EnqueueAsync(int key, int value = 0, TimeSpan? delay = null)
        {
            var result = await app.Client.EnqueueAsync(new Work(key, value), new EnqueueOptions { Delay = delay });
            Assert.Equal(EnqueueOutcome.Enqueued, result.Outcome);
            acknowledged.Add(result.TaskId);
        }

        // Before: some tasks done, some waiting for their start time, some running when Redis goes away.
        for (var key = 0; key < 20; key++)
        {
            await EnqueueAsync(key);
        }

        await SoloHarness.WaitForAsync(() => CompletedAll(app, acknowledged), "the first tasks ran");
        for (var key = 100; key < 110; key++)
        {
            await EnqueueAsync(key, delay: TimeSpan.FromSeconds(3));
        }

        for (var key = 200; key < 204; key++)
        {
            await EnqueueAsync(key, value: 7);
        }

        await SoloHarness.WaitForAsync(() => Task.FromResult(app.Probe.Running == 4), "four tasks run");

        server.Stop();

        var watch = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<BackendUnavailableException>(() => app.Client.EnqueueAsync(new Work(300)));
        var publish = await Assert.ThrowsAsync<BackendUnavailableException>(async () => await app.Broker.PublishAsync([new OutgoingMessage("x", "default", new byte[] { 1 })], default));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"failing took {watch.Elapsed} while Redis was down");
        Assert.StartsWith($"Redis 127.0.0.1:{server.Port} is unavailable", refused.Message, StringComparison.Ordinal);
        Assert.Equal($"Redis 127.0.0.1:{server.Port}", refused.Backend);
        Assert.Equal($"Redis 127.0.0.1:{server.Port}", publish.Backend);

        // Long enough for the running tasks to end and fail to settle, and for the worker to fail receiving.
        await Task.Delay(1000);
        server.StartAgain();

        // Nobody tells the app: its connection must heal by itself.
        await SoloHarness.WaitForAsync(
            async () =>
            {
                try
                {
                    await EnqueueAsync(400);
                    return true;
                }
                catch (BackendUnavailableException)
                {
                    return false;
                }
            },
            "an enqueue succeeds after the restart",
            TimeSpan.FromSeconds(20));
        for (var key = 500; key < 510; key++)
        {
            await EnqueueAsync(key);
        }

        await SoloHarness.WaitForAsync(() => CompletedAll(app, acknowledged), "every acknowledged task ran", TimeSpan.FromSeconds(30));
        await SoloHarness.WaitForAsync(async () => (await app.Broker.GetCountsAsync("default", default)).Pending == 0, "the queue drains");
        await SoloHarness.WaitForAsync(async () => !await app.Locks.ListAsync("", default).AnyAsync(), "every lock is released");
        using var inspect = server.Connect();
        Assert.Equal(["solo:{default}:s"], await RedisKeys.UnderAsync(inspect, ""));
        Assert.Equal(default(QueueCounts), await app.Broker.GetCountsAsync("default", default));
    }

    private static Task<bool> CompletedAll(SoloHarness app, IReadOnlyCollection<string> ids)
    {
        var completed = app.Probe.Completions.Select(c => c.Context.TaskId).ToHashSet();
        return Task.FromResult(ids.All(completed.Contains));
    }
}
