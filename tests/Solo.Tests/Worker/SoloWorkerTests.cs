using Solo.Tests.Support;

namespace Solo.Tests.Worker;

/// <summary>The worker host: concurrency limit and graceful shutdown.</summary>
public sealed class SoloWorkerTests
{
    [Fact]
    public async Task ExecuteAsync_ConcurrencyLimit_NeverExceeded()
    {
        await using var solo = SoloHarness.Create(worker: w => w.Concurrency = 3);
        solo.Probe.OnRun = (_, _, ct) => Task.Delay(20, ct);
        await solo.Client.EnqueueManyAsync(Enumerable.Range(0, 30).Select(i => new Work(i)));

        await solo.StartWorkerAsync();
        await solo.WaitUntilDrainedAsync();

        Assert.Equal(30, solo.Probe.Completions.Count);
        Assert.Equal(3, solo.Probe.MaxRunning);
    }

    [Fact]
    public async Task ExecuteAsync_PrefetchedMessagesWaitLongerThanTheLease_RenewedAndEachRunsOnce()
    {
        // One runner, three prefetched: the last waits about 2 s for the runner, twice its 1 s lease.
        var broker = new Solo.InMemory.InMemoryBroker(TimeProvider.System, new Solo.InMemory.InMemoryBrokerOptions { DeliveryLease = TimeSpan.FromSeconds(1) });
        await using var solo = SoloHarness.Create(broker: broker, worker: w =>
        {
            w.Concurrency = 1;
            w.Prefetch = 3;
        });
        solo.Probe.OnRun = (_, _, ct) => Task.Delay(700, ct);
        await solo.Client.EnqueueManyAsync(Enumerable.Range(0, 4).Select(i => new Work(i)));

        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Completions.Count >= 4, "four runs", TimeSpan.FromSeconds(20));
        await Task.Delay(1500);

        Assert.Equal([0, 1, 2, 3], solo.Probe.Starts.Select(s => s.Args.Key).Order());
        Assert.Equal(0, (await solo.CountsAsync()).Pending);
    }

    [Fact]
    public async Task StopAsync_RunningTaskWithinTimeout_FinishesAndIsAcked()
    {
        await using var solo = SoloHarness.Create(worker: w => w.ShutdownTimeout = TimeSpan.FromSeconds(5));
        solo.Probe.OnRun = (_, _, _) => Task.Delay(300);
        await solo.Client.EnqueueAsync(new Work(1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "run");

        await solo.StopWorkerAsync();

        Assert.Single(solo.Probe.Completions);
        Assert.Equal(0, (await solo.CountsAsync()).Pending);
    }

    [Fact]
    public async Task StopAsync_TaskOutlivesTimeout_CancelledAndReturnedToQueueWithItsSlot()
    {
        await using var solo = SoloHarness.Create(t => t.Retry(5).Unique(u => u.UntilExecuted().Key(w => w.Key)), worker: w => w.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
        solo.Probe.OnRun = (_, _, ct) => Task.Delay(Timeout.Infinite, ct);
        var enqueued = await solo.Client.EnqueueAsync(new Work(1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "run");

        await solo.StopWorkerAsync();

        var counts = await solo.CountsAsync();
        Assert.Equal(1, counts.Ready);
        Assert.Equal(0, counts.DeadLettered);
        Assert.Empty(solo.Probe.Completions);
        Assert.Equal(EnqueueOutcome.Duplicate, (await solo.Client.EnqueueAsync(new Work(1))).Outcome);
        var returned = Assert.Single(await solo.Broker.ReceiveAsync("default", 1, TimeSpan.Zero, default));
        Assert.Equal(enqueued.TaskId, returned.MessageId);
        Assert.Contains("\"attempt\":1", System.Text.Encoding.UTF8.GetString(returned.Body.Span), StringComparison.Ordinal);
    }
}
