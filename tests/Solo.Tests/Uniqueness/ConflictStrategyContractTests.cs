using Solo.Brokers;
using Solo.Tests.Support;

namespace Solo.Tests.Uniqueness;

/// <summary>The conflict strategies of docs/uniqueness.md, at enqueue and at start.</summary>
public sealed class ConflictStrategyContractTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task EnqueueAsync_DropOnHeldSlot_ReturnsHolderAndPublishesNothing()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuted().Key(w => w.Key).OnConflict(Conflict.Drop)));

        var first = await solo.Client.EnqueueAsync(new Work(7, 1));
        var second = await solo.Client.EnqueueAsync(new Work(7, 2));

        Assert.Equal(EnqueueOutcome.Duplicate, second.Outcome);
        Assert.Equal(first.TaskId, second.TaskId);
        Assert.Equal(1, (await solo.Broker.GetCountsAsync("default", default)).Ready);
    }

    [Fact]
    public async Task EnqueueAsync_ThrowOnHeldSlot_ThrowsNamingKeyAndHolder()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuted().Key(w => w.Key).OnConflict(Conflict.Throw)));
        var first = await solo.Client.EnqueueAsync(new Work(7, 1));

        var ex = await Assert.ThrowsAsync<UniqueConflictException>(() => solo.Client.EnqueueAsync(new Work(7, 2)));

        Assert.Equal("work:7", ex.UniqueKey);
        Assert.Equal(first.TaskId, ex.HolderTaskId);
        Assert.Contains("work:7", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await solo.Broker.GetCountsAsync("default", default)).Ready);
    }

    [Fact]
    public async Task EnqueueAsync_ReplaceOnHeldSlot_NewerArgumentsRunOnly()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuting().Key(w => w.Key).OnConflict(Conflict.Replace)));

        var first = await solo.Client.EnqueueAsync(new Work(7, 1));
        var second = await solo.Client.EnqueueAsync(new Work(7, 2));
        var third = await solo.Client.EnqueueAsync(new Work(7, 3));
        await solo.StartWorkerAsync();
        await solo.WaitUntilDrainedAsync();

        Assert.Equal(EnqueueOutcome.Replaced, second.Outcome);
        Assert.Equal(first.TaskId, second.ReplacedTaskId);
        Assert.Equal(EnqueueOutcome.Replaced, third.Outcome);
        Assert.Equal(second.TaskId, third.ReplacedTaskId);
        var run = Assert.Single(solo.Probe.Completions);
        Assert.Equal(3, run.Args.Value);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task RunAsync_StartConflictReschedule_KeepsQueueSlotAndRunsAfterHolder()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key).RescheduleDelay(Short)));
        var gate = new TaskCompletionSource();
        solo.Probe.OnRun = (w, _, _) => w.Value == 1 ? gate.Task : Task.CompletedTask;
        await solo.Client.EnqueueAsync(new Work(7, 1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "first run");
        var second = await solo.Client.EnqueueAsync(new Work(7, 2));

        await Task.Delay(100);
        var duplicateWhileRescheduling = await solo.Client.EnqueueAsync(new Work(7, 3));
        gate.SetResult();
        await solo.WaitUntilDrainedAsync();

        Assert.Equal(EnqueueOutcome.Duplicate, duplicateWhileRescheduling.Outcome);
        Assert.Equal(second.TaskId, duplicateWhileRescheduling.TaskId);
        Assert.Equal(new[] { 1, 2 }, solo.Probe.Completions.Select(c => c.Args.Value));
    }

    [Fact]
    public async Task RunAsync_StartConflictDrop_SecondIsDroppedAndReleased()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.WhileExecuting().Key(w => w.Key).OnStartConflict(Conflict.Drop)));
        var gate = new TaskCompletionSource();
        solo.Probe.OnRun = (w, _, _) => w.Value == 1 ? gate.Task : Task.CompletedTask;
        await solo.Client.EnqueueAsync(new Work(7, 1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "first run");

        await solo.Client.EnqueueAsync(new Work(7, 2));
        await SoloHarness.WaitForAsync(async () => (await solo.CountsAsync()).Pending == 1, "second settled");
        gate.SetResult();
        await solo.WaitUntilDrainedAsync();

        Assert.Equal(new[] { 1 }, solo.Probe.Completions.Select(c => c.Args.Value));
        Assert.Equal(0, (await solo.Broker.GetCountsAsync("default", default)).DeadLettered);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task RunAsync_StartConflictThrow_DeadLettersWithReason()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.WhileExecuting().Key(w => w.Key).OnStartConflict(Conflict.Throw)));
        var gate = new TaskCompletionSource();
        solo.Probe.OnRun = (w, _, _) => w.Value == 1 ? gate.Task : Task.CompletedTask;
        var first = await solo.Client.EnqueueAsync(new Work(7, 1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "first run");

        var second = await solo.Client.EnqueueAsync(new Work(7, 2));
        await SoloHarness.WaitForAsync(async () => (await solo.CountsAsync()).DeadLettered == 1, "dead letter");
        gate.SetResult();
        await solo.WaitUntilDrainedAsync();

        DeadLetter dead = Assert.Single(await solo.Broker.GetDeadLettersAsync("default", 10, default));
        Assert.Equal(second.TaskId, dead.MessageId);
        Assert.Contains("work:7", dead.Reason, StringComparison.Ordinal);
        Assert.Contains(first.TaskId, dead.Reason, StringComparison.Ordinal);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public void OnConflict_Reschedule_RejectedAtEnqueue()
    {
        var ex = Assert.Throws<ArgumentException>(() => SoloHarness.Create(t => t.Unique(u => u.OnConflict(Conflict.Reschedule))));
        Assert.Contains("OnStartConflict", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnStartConflict_Replace_Rejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => SoloHarness.Create(t => t.Unique(u => u.OnStartConflict(Conflict.Replace))));
        Assert.Contains("OnConflict", ex.Message, StringComparison.Ordinal);
    }
}
