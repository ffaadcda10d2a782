using Solo.Brokers;
using Solo.InMemory;
using Solo.Tests.Support;

namespace Solo.Tests.Client;

/// <summary>Enqueue: errors, delays, batches, publish failures, middleware.</summary>
public sealed class SoloClientTests
{
    [Fact]
    public async Task EnqueueAsync_UnregisteredArguments_ThrowsTaskNotRegistered()
    {
        await using var solo = SoloHarness.Create();

        var ex = await Assert.ThrowsAsync<TaskNotRegisteredException>(() => solo.Client.EnqueueAsync(new Unregistered(1)));

        Assert.Contains(nameof(Unregistered), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnqueueAsync_PayloadOverLimit_ThrowsAndReleasesNothingHeld()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)), solo: s => s.Configure(o => o.MaxPayloadBytes = 64));

        var ex = await Assert.ThrowsAsync<TaskPayloadException>(() => solo.Client.EnqueueAsync(new Work(1, 123456789)));

        Assert.Contains("over the limit of 64 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Equal("work", ex.TaskName);
        Assert.Empty(await solo.LocksLeftAsync());
        Assert.Equal(0, (await solo.CountsAsync()).Pending);
    }

    [Fact]
    public async Task EnqueueAsync_ArgumentsCannotSerialize_ThrowsTaskPayload()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.SoloServiceCollectionExtensions.AddSolo(services, s => s.AddTask<PointerTask, PointerArgs>("pointer").UseInMemory());
        await using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);
        var client = (ISoloClient)provider.GetService(typeof(ISoloClient))!;

        var ex = await Assert.ThrowsAsync<TaskPayloadException>(() => client.EnqueueAsync(new PointerArgs(IntPtr.Zero)));

        Assert.Contains("cannot be serialized", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnqueueAsync_PublishFails_SlotReleasedAndErrorReturned()
    {
        var time = TimeProvider.System;
        var broker = new FailingBroker(new InMemoryBroker(time));
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuted().Key(w => w.Key)), broker: broker);

        broker.Fail = true;
        await Assert.ThrowsAsync<IOException>(() => solo.Client.EnqueueAsync(new Work(1)));
        broker.Fail = false;
        var retried = await solo.Client.EnqueueAsync(new Work(1));

        Assert.Equal(EnqueueOutcome.Enqueued, retried.Outcome);
        Assert.Single(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task EnqueueAsync_LockReplyLostAfterTheStoreTookTheSlot_RetryIsEnqueuedNotDuplicate()
    {
        // The store runs the acquisition, then the connection drops before its answer arrives.
        var locks = new ObservedLockStore(new InMemoryLockStore(TimeProvider.System));
        var lose = true;
        locks.Acquired = (_, _) =>
        {
            if (lose)
            {
                lose = false;
                throw new BackendUnavailableException("test store", "connection lost before the reply");
            }
        };
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)), locks: locks);

        await Assert.ThrowsAsync<BackendUnavailableException>(() => solo.Client.EnqueueAsync(new Work(1)));
        var ghost = Assert.Single(await solo.LocksLeftAsync());
        var retried = await solo.Client.EnqueueAsync(new Work(1));

        Assert.Equal(EnqueueOutcome.Enqueued, retried.Outcome);
        Assert.NotEqual(ghost.Owner, retried.TaskId);
        var slot = Assert.Single(await solo.LocksLeftAsync());
        Assert.Equal(retried.TaskId, slot.Owner);
        Assert.Equal(1, (await solo.CountsAsync()).Pending);
    }

    [Fact]
    public async Task EnqueueAsync_PublishFailsWhileTheStoreIsDown_SlotReleasedOnceTheStoreIsBack()
    {
        var broker = new FailingBroker(new InMemoryBroker(TimeProvider.System));
        var locks = new ObservedLockStore(new InMemoryLockStore(TimeProvider.System));
        var storeDown = false;
        locks.BeforeRelease = (_, _) =>
        {
            if (storeDown)
            {
                throw new BackendUnavailableException("test store", "down");
            }
        };
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.UntilExecuted().Key(w => w.Key)), broker: broker, locks: locks);

        broker.Fail = true;
        storeDown = true;
        await Assert.ThrowsAsync<IOException>(() => solo.Client.EnqueueAsync(new Work(1)));
        var stranded = Assert.Single(await solo.LocksLeftAsync());
        broker.Fail = false;
        storeDown = false;

        // Released by the client's retry timer without any further enqueue.
        await SoloHarness.WaitForAsync(async () => (await solo.LocksLeftAsync()).Count == 0, $"the stranded slot of {stranded.Owner} to be released", TimeSpan.FromSeconds(10));
        var retried = await solo.Client.EnqueueAsync(new Work(1));
        Assert.Equal(EnqueueOutcome.Enqueued, retried.Outcome);
    }

    [Fact]
    public async Task EnqueueAsync_ReleaseOfUncertainSlotWhoseKeyPassedToAnother_LeavesTheOtherOwner()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var locks = new ObservedLockStore(new InMemoryLockStore(time));
        var lose = true;
        locks.Acquired = (_, _) =>
        {
            if (lose)
            {
                lose = false;
                throw new BackendUnavailableException("test store", "connection lost before the reply");
            }
        };
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key).QueueSlotTtl(TimeSpan.FromMinutes(1))), time: time, locks: locks);

        await Assert.ThrowsAsync<BackendUnavailableException>(() => solo.Client.EnqueueAsync(new Work(1)));
        time.Advance(TimeSpan.FromMinutes(2));
        var other = await locks.TryAcquireAsync("solo:{work:1}:q", "someone-else", TimeSpan.FromMinutes(5), default);
        var next = await solo.Client.EnqueueAsync(new Work(2));

        Assert.True(other.Acquired);
        Assert.Equal(EnqueueOutcome.Enqueued, next.Outcome);
        Assert.Equal("someone-else", (await locks.GetAsync("solo:{work:1}:q", default))?.Owner);
    }

    [Fact]
    public async Task EnqueueAsync_WithDelay_NotDeliveredBeforeAndSlotCoversTheDelay()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key).QueueSlotTtl(TimeSpan.FromMinutes(1))), time: time);

        await solo.Client.EnqueueAsync(new Work(1), new EnqueueOptions { Delay = TimeSpan.FromHours(2) });
        var slot = Assert.Single(await solo.LocksLeftAsync());
        time.Advance(TimeSpan.FromMinutes(119));
        var early = await solo.Broker.ReceiveAsync("default", 1, TimeSpan.Zero, default);
        var duplicate = await solo.Client.EnqueueAsync(new Work(1));
        time.Advance(TimeSpan.FromMinutes(2));
        var due = await solo.Broker.ReceiveAsync("default", 1, TimeSpan.Zero, default);

        Assert.True(slot.ExpiresAt >= time.GetUtcNow() - TimeSpan.FromMinutes(121) + TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
        Assert.Empty(early);
        Assert.Equal(EnqueueOutcome.Duplicate, duplicate.Outcome);
        Assert.Single(due);
    }

    [Fact]
    public async Task EnqueueAsync_StartAt_DeliveredFromThen()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var solo = SoloHarness.Create(time: time);

        await solo.Client.EnqueueAsync(new Work(1), new EnqueueOptions { StartAt = time.GetUtcNow().AddMinutes(5) });
        var early = await solo.Broker.ReceiveAsync("default", 1, TimeSpan.Zero, default);
        time.Advance(TimeSpan.FromMinutes(5));

        Assert.Empty(early);
        Assert.Single(await solo.Broker.ReceiveAsync("default", 1, TimeSpan.Zero, default));
    }

    [Fact]
    public async Task EnqueueAsync_DelayAndStartAt_Rejected()
    {
        await using var solo = SoloHarness.Create();

        await Assert.ThrowsAsync<ArgumentException>(() => solo.Client.EnqueueAsync(new Work(1), new EnqueueOptions { Delay = TimeSpan.FromSeconds(1), StartAt = DateTimeOffset.UtcNow }));
    }

    [Fact]
    public async Task EnqueueManyAsync_RepeatedKeys_OneEnqueuedPerKeyRestDuplicates()
    {
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));

        var results = await solo.Client.EnqueueManyAsync(Enumerable.Range(0, 100).Select(i => new Work(i % 10, i)));

        Assert.Equal(100, results.Count);
        Assert.Equal(10, results.Count(r => r.Outcome == EnqueueOutcome.Enqueued));
        Assert.Equal(90, results.Count(r => r.Outcome == EnqueueOutcome.Duplicate));
        Assert.Equal(results[3].TaskId, results[13].TaskId);
        Assert.Equal(10, (await solo.CountsAsync()).Pending);
    }

    [Fact]
    public async Task Middleware_EveryHook_CalledInOrderAroundSuccessAndFailure()
    {
        var log = new RecordingMiddleware();
        await using var solo = SoloHarness.Create(t => t.Retry(1).Unique(u => u.Coalesce().Key(w => w.Key)), solo: s => s.UseMiddleware(log));
        solo.Probe.OnRun = (w, _, _) => w.Value == 2 ? throw new InvalidOperationException("fails") : Task.CompletedTask;

        await solo.Client.EnqueueAsync(new Work(1, 1));
        await solo.Client.EnqueueAsync(new Work(1, 9));
        await solo.StartWorkerAsync();
        await solo.WaitUntilDrainedAsync();
        await solo.Client.EnqueueAsync(new Work(2, 2));
        await solo.WaitUntilDrainedAsync();

        Assert.Equal(
            ["publishing 1", "duplicate 9", "before 1", "after 1 ok", "publishing 2", "before 2", "after 2 InvalidOperationException"],
            log.Events);
    }

    private sealed record Unregistered(int Id);

    private sealed record PointerArgs(IntPtr Pointer);

    private sealed class PointerTask : ITask<PointerArgs>
    {
        public Task RunAsync(PointerArgs args, TaskContext context, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class RecordingMiddleware : ISoloMiddleware
    {
        public List<string> Events { get; } = [];

        public ValueTask OnPublishingAsync(PublishContext context, CancellationToken cancellationToken)
        {
            lock (Events)
            {
                Events.Add($"publishing {((Work)context.Args).Value}");
            }

            return ValueTask.CompletedTask;
        }

        public async ValueTask OnRunAsync(TaskContext context, Func<ValueTask> next, CancellationToken cancellationToken)
        {
            var value = ((Work)context.Args).Value;
            lock (Events)
            {
                Events.Add($"before {value}");
            }

            try
            {
                await next();
                lock (Events)
                {
                    Events.Add($"after {value} ok");
                }
            }
            catch (Exception ex)
            {
                lock (Events)
                {
                    Events.Add($"after {value} {ex.GetType().Name}");
                }

                throw;
            }
        }

        public ValueTask OnDuplicateAsync(DuplicateContext context, CancellationToken cancellationToken)
        {
            lock (Events)
            {
                Events.Add($"duplicate {((Work)context.Args).Value}");
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class FailingBroker(IBroker inner) : IBroker
    {
        public bool Fail { get; set; }

        public ValueTask PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken) =>
            Fail ? throw new IOException("broker down") : inner.PublishAsync(messages, cancellationToken);

        public ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken) =>
            inner.ReceiveAsync(queue, maxMessages, wait, cancellationToken);

        public ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken) => inner.GetCountsAsync(queue, cancellationToken);

        public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken) =>
            inner.GetDeadLettersAsync(queue, maxMessages, cancellationToken);
    }
}
