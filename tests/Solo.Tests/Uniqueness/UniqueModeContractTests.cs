using Solo.Tests.Support;

namespace Solo.Tests.Uniqueness;

/// <summary>Each row of the modes table in docs/uniqueness.md, on the in-memory backend.</summary>
public sealed class UniqueModeContractTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task EnqueueAsync_UntilExecutingWhileQueued_Duplicate()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuting().Key(w => w.Key)));

        var first = await solo.Client.EnqueueAsync(new Work(1, 1));
        var second = await solo.Client.EnqueueAsync(new Work(1, 2));

        Assert.Equal(EnqueueOutcome.Enqueued, first.Outcome);
        Assert.Equal(EnqueueOutcome.Duplicate, second.Outcome);
        Assert.Equal(first.TaskId, second.TaskId);
        Assert.Equal("work:1", second.UniqueKey);
        Assert.Equal(1, (await solo.Broker.GetCountsAsync("default", default)).Pending);
    }

    [Fact]
    public async Task EnqueueAsync_UntilExecutingWhileRunning_Accepted()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuting().Key(w => w.Key)));
        var gate = new TaskCompletionSource();
        solo.Probe.OnRun = (_, _, _) => gate.Task;
        await solo.Client.EnqueueAsync(new Work(1, 1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "first run");

        var second = await solo.Client.EnqueueAsync(new Work(1, 2));

        Assert.Equal(EnqueueOutcome.Enqueued, second.Outcome);
        gate.SetResult();
        await solo.WaitUntilDrainedAsync();
        Assert.Equal(2, solo.Probe.Completions.Count);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task EnqueueAsync_UntilExecutedWhileQueuedAndRunning_DuplicateUntilEnd()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuted().Key(w => w.Key)));
        var gate = new TaskCompletionSource();
        solo.Probe.OnRun = (_, _, _) => gate.Task;
        var first = await solo.Client.EnqueueAsync(new Work(1, 1));
        Assert.Equal(EnqueueOutcome.Duplicate, (await solo.Client.EnqueueAsync(new Work(1, 2))).Outcome);
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "first run");

        var whileRunning = await solo.Client.EnqueueAsync(new Work(1, 3));
        gate.SetResult();
        await solo.WaitUntilDrainedAsync();
        var afterEnd = await solo.Client.EnqueueAsync(new Work(1, 4));

        Assert.Equal(EnqueueOutcome.Duplicate, whileRunning.Outcome);
        Assert.Equal(first.TaskId, whileRunning.TaskId);
        Assert.Equal(EnqueueOutcome.Enqueued, afterEnd.Outcome);
    }

    [Fact]
    public async Task RunAsync_WhileExecutingTwoQueued_BothAcceptedNeverConcurrent()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.WhileExecuting().Key(w => w.Key).RescheduleDelay(Short)));
        solo.Probe.OnRun = (_, _, ct) => Task.Delay(100, ct);

        var first = await solo.Client.EnqueueAsync(new Work(1, 1));
        var second = await solo.Client.EnqueueAsync(new Work(1, 2));
        await solo.StartWorkerAsync();
        await solo.WaitUntilDrainedAsync();

        Assert.Equal(EnqueueOutcome.Enqueued, first.Outcome);
        Assert.Equal(EnqueueOutcome.Enqueued, second.Outcome);
        Assert.Equal(2, solo.Probe.Completions.Count);
        Assert.Equal(1, solo.Probe.MaxRunning);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task EnqueueAsync_CoalesceWhileQueued_Duplicate()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));

        var first = await solo.Client.EnqueueAsync(new Work(1, 1));
        var second = await solo.Client.EnqueueAsync(new Work(1, 2));

        Assert.Equal(EnqueueOutcome.Duplicate, second.Outcome);
        Assert.Equal(first.TaskId, second.TaskId);
    }

    [Fact]
    public async Task EnqueueAsync_CoalesceWhileRunning_AcceptedOnceAndRunsAfterCurrentRun()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key).RescheduleDelay(Short)));
        var gate = new TaskCompletionSource();
        var firstEnded = DateTimeOffset.MaxValue;
        solo.Probe.OnRun = async (w, _, _) =>
        {
            if (w.Value == 1)
            {
                await gate.Task;
                firstEnded = DateTimeOffset.UtcNow;
            }
        };
        await solo.Client.EnqueueAsync(new Work(1, 1));
        await solo.StartWorkerAsync();
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "first run");

        var second = await solo.Client.EnqueueAsync(new Work(1, 2));
        var third = await solo.Client.EnqueueAsync(new Work(1, 3));
        await Task.Delay(100);
        var startedWhileFirstRan = solo.Probe.Starts.Count;
        gate.SetResult();
        await solo.WaitUntilDrainedAsync();

        Assert.Equal(EnqueueOutcome.Enqueued, second.Outcome);
        Assert.Equal(EnqueueOutcome.Duplicate, third.Outcome);
        Assert.Equal(second.TaskId, third.TaskId);
        Assert.Equal(1, startedWhileFirstRan);
        Assert.Equal(new[] { 1, 2 }, solo.Probe.Completions.Select(c => c.Args.Value));
        Assert.Equal(1, solo.Probe.MaxRunning);
        Assert.True(solo.Probe.Completions.Last().Context.EnqueuedAt <= DateTimeOffset.UtcNow);
        Assert.NotEqual(DateTimeOffset.MaxValue, firstEnded);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task EnqueueAsync_ThrottleWithinWindow_DuplicateEvenAfterTheRunEnds()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Throttle(TimeSpan.FromMinutes(1)).Key(w => w.Key)), time: time);

        var first = await solo.Client.EnqueueAsync(new Work(1, 1));
        var delivery = Assert.Single(await solo.Broker.ReceiveAsync("default", 10, TimeSpan.Zero, default));
        await delivery.AckAsync(default);
        time.Advance(TimeSpan.FromSeconds(59));
        var inWindow = await solo.Client.EnqueueAsync(new Work(1, 2));
        time.Advance(TimeSpan.FromSeconds(2));
        var afterWindow = await solo.Client.EnqueueAsync(new Work(1, 3));

        Assert.Equal(EnqueueOutcome.Enqueued, first.Outcome);
        Assert.Equal(EnqueueOutcome.Duplicate, inWindow.Outcome);
        Assert.Equal(first.TaskId, inWindow.TaskId);
        Assert.Equal(EnqueueOutcome.Enqueued, afterWindow.Outcome);
    }

    [Fact]
    public async Task EnqueueAsync_ThrottleWindowOver_NoLockLeft()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Throttle(TimeSpan.FromSeconds(10)).Key(w => w.Key)), time: time);

        await solo.Client.EnqueueAsync(new Work(1, 1));
        var held = await solo.LocksLeftAsync();
        time.Advance(TimeSpan.FromSeconds(11));

        Assert.Single(held);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task EnqueueAsync_DebounceWhilePending_ReplacesArgumentsAndPushesStart()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Debounce(TimeSpan.FromSeconds(10)).Key(w => w.Key)), time: time);

        var first = await solo.Client.EnqueueAsync(new Work(1, 1));
        time.Advance(TimeSpan.FromSeconds(6));
        var second = await solo.Client.EnqueueAsync(new Work(1, 2));
        time.Advance(TimeSpan.FromSeconds(6));
        var dueAfterFirstWindow = await solo.Broker.ReceiveAsync("default", 10, TimeSpan.Zero, default);

        Assert.Equal(EnqueueOutcome.Enqueued, first.Outcome);
        Assert.Equal(EnqueueOutcome.Replaced, second.Outcome);
        Assert.Equal(first.TaskId, second.ReplacedTaskId);
        Assert.NotEqual(first.TaskId, second.TaskId);
        // Only the first (replaced) message is due after 12 s; the replacement starts at 16 s.
        Assert.Equal(first.TaskId, Assert.Single(dueAfterFirstWindow).MessageId);
    }

    [Fact]
    public async Task RunAsync_DebounceBurst_RunsOnceWithTheLastArguments()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Debounce(TimeSpan.FromMilliseconds(150)).Key(w => w.Key).RescheduleDelay(Short)));
        await solo.StartWorkerAsync();

        for (var i = 1; i <= 5; i++)
        {
            await solo.Client.EnqueueAsync(new Work(1, i));
            await Task.Delay(20);
        }

        await Task.Delay(300);
        await solo.WaitUntilDrainedAsync();

        var run = Assert.Single(solo.Probe.Completions);
        Assert.Equal(5, run.Args.Value);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task RunAsync_CoalesceFencingToken_GrowsWithEveryRun()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));
        await solo.StartWorkerAsync();

        for (var i = 0; i < 3; i++)
        {
            await solo.Client.EnqueueAsync(new Work(1, i));
            await solo.WaitUntilDrainedAsync();
        }

        var tokens = solo.Probe.Completions.Select(c => c.Context.FencingToken!.Value).ToArray();
        Assert.Equal(3, tokens.Length);
        Assert.True(tokens[0] < tokens[1] && tokens[1] < tokens[2], string.Join(",", tokens));
        Assert.All(solo.Probe.Completions, c => Assert.Equal("work:1", c.Context.UniqueKey));
    }

    [Fact]
    public async Task EnqueueAsync_SameKeyOnTwoQueues_Duplicate()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));

        var first = await solo.Client.EnqueueAsync(new Work(1, 1), new EnqueueOptions { Queue = "a" });
        var second = await solo.Client.EnqueueAsync(new Work(1, 2), new EnqueueOptions { Queue = "b" });

        Assert.Equal(EnqueueOutcome.Enqueued, first.Outcome);
        Assert.Equal(EnqueueOutcome.Duplicate, second.Outcome);
    }

    [Fact]
    public async Task EnqueueAsync_UniqueKeyGivenAtEnqueue_OverridesSelector()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));

        var first = await solo.Client.EnqueueAsync(new Work(1, 1), new EnqueueOptions { UniqueKey = "custom" });
        var second = await solo.Client.EnqueueAsync(new Work(2, 2), new EnqueueOptions { UniqueKey = "custom" });
        var third = await solo.Client.EnqueueAsync(new Work(1, 3));

        Assert.Equal("work:custom", first.UniqueKey);
        Assert.Equal(EnqueueOutcome.Duplicate, second.Outcome);
        Assert.Equal(EnqueueOutcome.Enqueued, third.Outcome);
    }
}
