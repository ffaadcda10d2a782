using System.Text;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Tests.Support;

namespace Solo.Tests.Worker;

/// <summary>The life of a task in a worker: success, retries, dead letters, bad input, leases, timeouts.</summary>
public sealed class TaskProcessorTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(5);

    [Fact]
    public async Task ProcessAsync_Success_ReleasesEveryLock()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));
        await solo.StartWorkerAsync();

        for (var key = 0; key < 20; key++)
        {
            await solo.Client.EnqueueAsync(new Work(key));
        }

        await solo.WaitUntilDrainedAsync();
        Assert.Equal(20, solo.Probe.Completions.Count);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task ProcessAsync_FailsThenSucceeds_RetriedWithSameIdAndNextAttempt()
    {
        await using var solo = SoloHarness.Create(t => t.Retry(3, Fast, Fast).Unique(u => u.UntilExecuted().Key(w => w.Key)));
        solo.Probe.OnRun = (_, ctx, _) => ctx.Attempt < 3 ? throw new InvalidOperationException("boom") : Task.CompletedTask;
        var enqueued = await solo.Client.EnqueueAsync(new Work(1));
        await solo.StartWorkerAsync();

        await solo.WaitUntilDrainedAsync();

        Assert.Equal(new[] { 1, 2, 3 }, solo.Probe.Starts.Select(s => s.Context.Attempt));
        Assert.All(solo.Probe.Starts, s => Assert.Equal(enqueued.TaskId, s.Context.TaskId));
        Assert.All(solo.Probe.Starts, s => Assert.Equal(3, s.Context.MaxAttempts));
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task ProcessAsync_RetryPending_KeepsUntilExecutedSlot()
    {
        await using var solo = SoloHarness.Create(t => t.Retry(2, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)).Unique(u => u.UntilExecuted().Key(w => w.Key)));
        solo.Probe.OnRun = (_, ctx, _) => ctx.Attempt == 1 ? throw new InvalidOperationException("boom") : Task.CompletedTask;
        var first = await solo.Client.EnqueueAsync(new Work(1, 1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Starts.Count == 1, "first attempt");
        await SoloHarness.WaitForAsync(async () => (await solo.CountsAsync()).Counts.Scheduled == 1, "retry scheduled");

        var duringBackoff = await solo.Client.EnqueueAsync(new Work(1, 2));

        Assert.Equal(EnqueueOutcome.Duplicate, duringBackoff.Outcome);
        Assert.Equal(first.TaskId, duringBackoff.TaskId);
        await solo.WaitUntilDrainedAsync();
        Assert.Single(solo.Probe.Completions);
    }

    [Fact]
    public async Task ProcessAsync_LastAttemptFails_DeadLetteredWithReasonAndLocksReleased()
    {
        await using var solo = SoloHarness.Create(t => t.Retry(2, Fast, Fast).Unique(u => u.Coalesce().Key(w => w.Key)));
        solo.Probe.OnRun = (_, _, _) => throw new InvalidOperationException("the database is on fire");
        var enqueued = await solo.Client.EnqueueAsync(new Work(1));
        await solo.StartWorkerAsync();

        await SoloHarness.WaitForAsync(async () => (await solo.CountsAsync()).DeadLettered == 1, "dead letter");

        var dead = Assert.Single(await solo.Broker.GetDeadLettersAsync("default", 10, default));
        Assert.Equal(enqueued.TaskId, dead.MessageId);
        Assert.Contains("failed after 2 attempt(s)", dead.Reason, StringComparison.Ordinal);
        Assert.Contains("the database is on fire", dead.Reason, StringComparison.Ordinal);
        await solo.WaitUntilDrainedAsync();
        Assert.Empty(await solo.LocksLeftAsync());
        Assert.Equal(EnqueueOutcome.Enqueued, (await solo.Client.EnqueueAsync(new Work(1))).Outcome);
    }

    [Fact]
    public async Task ProcessAsync_Timeout_CancelsAttemptAndRetries()
    {
        await using var solo = SoloHarness.Create(t => t.Timeout(TimeSpan.FromMilliseconds(100)).Retry(2, Fast, Fast));
        solo.Probe.OnRun = (_, ctx, ct) => ctx.Attempt == 1 ? Task.Delay(Timeout.Infinite, ct) : Task.CompletedTask;
        await solo.Client.EnqueueAsync(new Work(1));
        await solo.StartWorkerAsync();

        await solo.WaitUntilDrainedAsync();

        Assert.Equal(2, solo.Probe.Starts.Count);
        Assert.Equal(2, Assert.Single(solo.Probe.Completions).Context.Attempt);
    }

    [Fact]
    public async Task ProcessAsync_SlotTakenOverWhileRunning_CancelsTouchesNothingAndRunsAgainAfterRedelivery()
    {
        var broker = new InMemoryBroker(TimeProvider.System, new InMemoryBrokerOptions { DeliveryLease = TimeSpan.FromSeconds(1) });
        await using var solo = SoloHarness.Create(t => t.Retry(1).Unique(u => u.Coalesce().Key(w => w.Key).RunLease(TimeSpan.FromMilliseconds(300))), broker: broker);
        var cancelled = new TaskCompletionSource<bool>();
        solo.Probe.OnRun = async (_, _, ct) =>
        {
            if (cancelled.Task.IsCompleted)
            {
                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(10), ct);
                cancelled.TrySetResult(false);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult(true);
                throw;
            }
        };
        var enqueued = await solo.Client.EnqueueAsync(new Work(1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "run");

        // Someone else takes the run slot over, as if our lease had expired and a newer run took it.
        var taken = await solo.Locks.ReplaceOwnerAsync("solo:{work:1}:r", enqueued.TaskId, "intruder", TimeSpan.FromMinutes(1), default);

        Assert.True(taken.Acquired);
        Assert.True(await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5)));

        // The copy that lost its slot neither dead-letters, retries, acks nor releases: the message stays
        // for its redelivery, and the intruder's lock stays (compare-and-delete by owner and token).
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(0, (await solo.CountsAsync()).DeadLettered);
        Assert.Empty(solo.Probe.Completions);
        Assert.Equal("intruder", (await solo.Locks.GetAsync("solo:{work:1}:r", default))?.Owner);

        // Once the intruder lets go, the redelivered message runs, as the same first attempt.
        Assert.True(await solo.Locks.ReleaseAsync("solo:{work:1}:r", "intruder", taken.FencingToken, default));
        await solo.WaitUntilDrainedAsync();
        var completion = Assert.Single(solo.Probe.Completions);
        Assert.Equal(1, completion.Context.Attempt);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task ProcessAsync_MalformedMessage_DeadLetteredAndWorkerGoesOn()
    {
        await using var solo = SoloHarness.Create();
        await solo.StartWorkerAsync();

        await solo.Broker.PublishAsync([new OutgoingMessage("garbage", "default", Encoding.UTF8.GetBytes("{not json"))], default);
        await solo.Broker.PublishAsync([new OutgoingMessage("array", "default", Encoding.UTF8.GetBytes("[1,2]"))], default);
        await solo.Broker.PublishAsync([new OutgoingMessage("v9", "default", Encoding.UTF8.GetBytes("""{"v":9,"id":"x","task":"work","attempt":1,"enqueuedAt":0,"args":{}}"""))], default);
        await solo.Client.EnqueueAsync(new Work(1));
        await solo.WaitUntilDrainedAsync();

        var dead = (await solo.Broker.GetDeadLettersAsync("default", 10, default)).ToDictionary(d => d.MessageId, d => d.Reason);
        Assert.Contains("not JSON", dead["garbage"], StringComparison.Ordinal);
        Assert.Contains("expected a JSON object", dead["array"], StringComparison.Ordinal);
        Assert.Contains("unsupported envelope version 9", dead["v9"], StringComparison.Ordinal);
        Assert.Single(solo.Probe.Completions);
    }

    [Fact]
    public async Task ProcessAsync_UnknownTaskName_DeadLetteredNamingIt()
    {
        await using var solo = SoloHarness.Create();
        await solo.StartWorkerAsync();

        var body = """{"v":1,"id":"t1","task":"System.IO.File","attempt":1,"enqueuedAt":0,"args":{}}""";
        await solo.Broker.PublishAsync([new OutgoingMessage("t1", "default", Encoding.UTF8.GetBytes(body))], default);
        await solo.Client.EnqueueAsync(new Work(1));
        await solo.WaitUntilDrainedAsync();

        var dead = Assert.Single(await solo.Broker.GetDeadLettersAsync("default", 10, default));
        Assert.Contains("unknown task 'System.IO.File'", dead.Reason, StringComparison.Ordinal);
        Assert.Single(solo.Probe.Completions);
    }

    [Fact]
    public async Task ProcessAsync_ArgumentsDoNotDeserialize_DeadLetteredAndSlotReleased()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuted().Key(w => w.Key)));
        // Take the slot the way an enqueue would, so the test sees the worker release it.
        // The message carries the slot's token, as every enqueued one does: that is its proof of ownership.
        var slot = await solo.Locks.TryAcquireAsync("solo:{work:5}:q", "t1", TimeSpan.FromMinutes(5), default);
        var body = $$$"""{"v":1,"id":"t1","task":"work","key":"work:5","attempt":1,"enqueuedAt":0,"fence":{{{slot.FencingToken}}},"args":{"key":"not a number"}}""";
        await solo.Broker.PublishAsync([new OutgoingMessage("t1", "default", Encoding.UTF8.GetBytes(body))], default);
        await solo.StartWorkerAsync();

        await SoloHarness.WaitForAsync(async () => (await solo.CountsAsync()).DeadLettered == 1, "dead letter");

        var dead = Assert.Single(await solo.Broker.GetDeadLettersAsync("default", 10, default));
        Assert.Contains("do not deserialize into Work", dead.Reason, StringComparison.Ordinal);
        await SoloHarness.WaitForAsync(async () => (await solo.LocksLeftAsync()).Count == 0, "slot released");
        Assert.Empty(solo.Probe.Starts);
    }

    [Fact]
    public async Task ProcessAsync_RedeliveredAfterCrash_ReclaimsItsOwnRunSlotAtOnce()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key).RunLease(TimeSpan.FromMinutes(10))), time: time);
        var enqueued = await solo.Client.EnqueueAsync(new Work(1));
        // A worker took the run slot and died: its slot would block the key for the whole lease.
        var queueSlot = await solo.Locks.GetAsync("solo:{work:1}:q", default);
        Assert.True((await solo.Locks.TryAcquireAndReleaseAsync("solo:{work:1}:r", "solo:{work:1}:q", enqueued.TaskId, queueSlot!.FencingToken, TimeSpan.FromMinutes(10), default)).Acquired);
        var crashed = Assert.Single(await solo.Broker.ReceiveAsync("default", 1, TimeSpan.Zero, default));
        time.Advance(TimeSpan.FromMinutes(1));
        var processor = (Solo.Worker.TaskProcessor)solo.Services.GetService(typeof(Solo.Worker.TaskProcessor))!;
        var leases = (Solo.Leases.LeaseMonitor)solo.Services.GetService(typeof(Solo.Leases.LeaseMonitor))!;

        var receivedAt = time.GetTimestamp();
        var redelivered = Assert.Single(await solo.Broker.ReceiveAsync("default", 1, TimeSpan.Zero, default));
        await using var lease = leases.Track(redelivered, receivedAt);
        await processor.ProcessAsync(lease, CancellationToken.None);

        Assert.Equal(2, redelivered.DeliveryCount);
        Assert.Equal(crashed.MessageId, redelivered.MessageId);
        Assert.Single(solo.Probe.Completions);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    private static async Task<DeadLetter> WaitForDeadLetterAsync(SoloHarness solo)
    {
        await SoloHarness.WaitForAsync(async () => (await solo.CountsAsync()).DeadLettered >= 1, "dead letter");
        return (await solo.Broker.GetDeadLettersAsync("default", 10, default))[0];
    }
}
