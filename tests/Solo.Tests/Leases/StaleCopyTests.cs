using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Solo.Brokers;
using Solo.Leases;
using Solo.Locks;
using Solo.Tests.Support;
using Solo.Worker;

namespace Solo.Tests.Leases;

/// <summary>
/// A copy of a task whose process stalled (SIGSTOP, a GC pause, a frozen VM) past its delivery lease, and
/// then resumed, while the broker gave the message to another copy: the stale copy must never run beside
/// its redelivery, nor release, renew, ack or strand what the live copy holds. Driven through the real
/// processor, broker and lock store, on a fake clock where the backend takes all its time from it, else on
/// the real one (servers keep their own leases); every backend joins with a short subclass.
/// </summary>
public abstract class StaleCopyTests : IAsyncLifetime
{
    private const string RunKey = "solo:{work:1}:r";
    private const string QueueKey = "solo:{work:1}:q";
    private readonly FakeTimeProvider? _fake;
    private readonly List<SoloHarness> _harnesses = [];

    protected StaleCopyTests()
    {
        _fake = UsesFakeClock ? new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero)) : null;
        _time = (TimeProvider?)_fake ?? TimeProvider.System;
    }

    /// <summary>True when the backend takes all its time from the given clock, so a fake one can drive it.</summary>
    protected virtual bool UsesFakeClock => true;

    /// <summary>The brokers' delivery lease in these tests; a stall outlasts it.</summary>
    protected virtual TimeSpan DeliveryLease => TimeSpan.FromSeconds(2);

    /// <summary>Each test's own queue, so that tests on a shared server never see each other's messages.</summary>
    protected string Queue { get; } = $"stale-{Guid.NewGuid():N}";

    /// <summary>A broker with <paramref name="deliveryLease"/> and a lock store, both on <paramref name="time"/>.</summary>
    protected abstract (IBroker Broker, ILockStore Locks) CreateBackend(TimeProvider time, TimeSpan deliveryLease);

    private readonly TimeProvider _time;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var harness in _harnesses)
        {
            await harness.DisposeAsync();
        }
    }

    [Fact]
    public async Task ProcessAsync_StaleCopyEndsAfterItsRedeliveryStarted_NeitherReleasesNorAcksOverIt()
    {
        var (solo, locks) = Create(TimeSpan.FromSeconds(6));
        var staleGate = new TaskCompletionSource();
        var liveGate = new TaskCompletionSource();
        var runs = 0;
        // Neither run watches its token: the stale one is a stopped process that cannot see it fire.
        solo.Probe.OnRun = (_, _, _) => Interlocked.Increment(ref runs) == 1 ? staleGate.Task : liveGate.Task;
        await solo.Client.EnqueueAsync(new Work(1));

        await using var stale = await ReceiveAsync(solo, stalled: true);
        var staleRun = Process(solo, stale);
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "the first copy runs");
        var staleToken = (await locks.GetAsync(RunKey, default))!.FencingToken;

        // The process stops past its delivery lease; the broker hands the message to another copy.
        await PassAsync(DeliveryLease + TimeSpan.FromSeconds(1));
        Assert.True(stale.Lost.IsCancellationRequested, "the stale copy's lease did not end on its clock");
        await using var live = await ReceiveAsync(solo, stalled: false);
        Assert.Equal(2, live.Delivery.DeliveryCount);
        var liveRun = Process(solo, live);
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 2, "the redelivered copy runs");
        var liveSlot = await locks.GetAsync(RunKey, default);
        Assert.True(liveSlot!.FencingToken > staleToken, "the redelivery did not take its run slot again");

        // What each run sees when it looks, the moment it looks: the stale one knows before its timer runs.
        var contexts = solo.Probe.Starts.Select(s => s.Context).ToArray();
        Assert.False(contexts[0].IsLeaseHeld);
        Assert.Throws<OperationCanceledException>(contexts[0].ThrowIfLeaseLost);
        Assert.True(contexts[1].IsLeaseHeld);
        contexts[1].ThrowIfLeaseLost();

        // The stale copy resumes and finishes: it must leave the live copy's slot and message alone.
        staleGate.SetResult();
        await staleRun;
        Assert.Equal(liveSlot, await locks.GetAsync(RunKey, default));
        Assert.Equal(1, (await solo.CountsAsync()).Counts.InFlight);

        liveGate.SetResult();
        await liveRun;
        Assert.Equal(0, (await solo.CountsAsync()).Pending);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task ProcessAsync_StaleCopyResumesBeforeItsStart_NeverStarts()
    {
        var (solo, locks) = Create(TimeSpan.FromSeconds(6));
        var liveGate = new TaskCompletionSource();
        solo.Probe.OnRun = (_, _, _) => liveGate.Task;
        await solo.Client.EnqueueAsync(new Work(1));

        await using var stale = await ReceiveAsync(solo, stalled: true);
        await PassAsync(DeliveryLease + TimeSpan.FromSeconds(1));
        await using var live = await ReceiveAsync(solo, stalled: false);
        var liveRun = Process(solo, live);
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "the redelivered copy runs");
        var liveSlot = await locks.GetAsync(RunKey, default);

        await Process(solo, stale);

        Assert.Single(solo.Probe.Starts);
        Assert.Equal(liveSlot, await locks.GetAsync(RunKey, default));
        liveGate.SetResult();
        await liveRun;
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task ProcessAsync_StallDuringRescheduleHold_UndoesTheHoldSoNoSlotIsLeftWithoutAMessage()
    {
        var (solo, locks) = Create(TimeSpan.FromSeconds(6));
        // Another run of the key holds its run slot, so the task meets a conflict at start and reschedules.
        var other = await locks.TryAcquireAsync(RunKey, "other-task", TimeSpan.FromMinutes(5), default);
        var enqueued = await solo.Client.EnqueueAsync(new Work(1));
        solo.Observed.BeforeAcquire = (key, owner) =>
        {
            if (key == QueueKey && owner == enqueued.TaskId)
            {
                // The process stops while its hold is on the way.
                Stall(DeliveryLease + TimeSpan.FromSeconds(1));
            }
        };

        await using (var stale = await ReceiveAsync(solo, stalled: true))
        {
            await Process(solo, stale);
        }

        solo.Observed.BeforeAcquire = null;
        Assert.Null(await locks.GetAsync(QueueKey, default));

        // The message was not requeued by the stale copy; it comes back, and runs once the key is free.
        await using var live = await ReceiveAsync(solo, stalled: false);
        Assert.Equal(enqueued.TaskId, live.Delivery.MessageId);
        Assert.True(await locks.ReleaseAsync(RunKey, "other-task", other.FencingToken, default));
        await Process(solo, live);
        Assert.Single(solo.Probe.Completions);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task ProcessAsync_CopyDiesBetweenRescheduleHoldAndRequeue_ItsRedeliveryStillFreesTheQueueSlot()
    {
        var (solo, locks) = Create(TimeSpan.FromSeconds(6));
        var other = await locks.TryAcquireAsync(RunKey, "other-task", TimeSpan.FromMinutes(5), default);
        var enqueued = await solo.Client.EnqueueAsync(new Work(1));
        var enqueuedToken = (await locks.GetAsync(QueueKey, default))!.FencingToken;
        solo.Observed.Acquired = (key, result) =>
        {
            if (key == QueueKey && result.Owner == enqueued.TaskId)
            {
                // The hold took the slot again with a new token; the process dies before it requeues.
                throw new InvalidOperationException("killed between the hold and the requeue");
            }
        };

        await using (var dying = await ReceiveAsync(solo, stalled: true))
        {
            await Process(solo, dying);
        }

        solo.Observed.Acquired = null;
        Assert.NotEqual(enqueuedToken, (await locks.GetAsync(QueueKey, default))!.FencingToken);

        // The original message, which knows only the token of its enqueue, comes back and runs once the key
        // is free: its start consumes its task's pending slot all the same, so none is left behind.
        await PassAsync(DeliveryLease + TimeSpan.FromSeconds(1));
        await using var redelivered = await ReceiveAsync(solo, stalled: false);
        Assert.Equal(2, redelivered.Delivery.DeliveryCount);
        Assert.True(await locks.ReleaseAsync(RunKey, "other-task", other.FencingToken, default));
        await Process(solo, redelivered);
        Assert.Single(solo.Probe.Completions);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    [Fact]
    public async Task ProcessAsync_LockStoreUnreachableWhileRunning_TokenFiresBeforeTheSlotCanExpire()
    {
        var runLease = TimeSpan.FromSeconds(3);
        var (solo, locks) = Create(runLease, deliveryLease: TimeSpan.FromSeconds(30));
        var cancelledAt = new TaskCompletionSource<DateTimeOffset>();
        solo.Probe.OnRun = async (_, _, ct) =>
        {
            using var registration = ct.Register(() => cancelledAt.TrySetResult(_time.GetUtcNow()));
            await Task.Delay(Timeout.Infinite, ct);
        };
        await solo.Client.EnqueueAsync(new Work(1));
        await using var lease = await ReceiveAsync(solo, stalled: false);
        var run = Process(solo, lease);
        await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "run");
        var slot = (await locks.GetAsync(RunKey, default))!;
        solo.Observed.RenewalFault = new BackendUnavailableException("lock store", "unreachable for this test");
        var startedAt = _time.GetUtcNow();

        while (!cancelledAt.Task.IsCompleted && _time.GetUtcNow() - startedAt < runLease * 2)
        {
            await PassAsync(TimeSpan.FromMilliseconds(50));
        }

        // The run stops while its slot is still its own in the store: nobody else can have started yet.
        var stoppedAt = await cancelledAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(stoppedAt < slot.ExpiresAt, $"cancelled at {stoppedAt:O}, the slot expired at {slot.ExpiresAt:O}");
        await run;
        Assert.Equal(slot, await locks.GetAsync(RunKey, default));
    }

    [Fact]
    public async Task ProcessAsync_ForgedMessagesNamingAPendingTask_ReleaseNothing()
    {
        var (solo, locks) = Create(TimeSpan.FromSeconds(6));
        var pending = await solo.Client.EnqueueAsync(new Work(1));
        var slot = (await locks.GetAsync(QueueKey, default))!;
        string[] forged =
        [
            // An unknown task, and a known one whose arguments do not fit, each with the pending task's id
            // and key but not its token; and a message that does not even decode.
            $$$"""{"v":1,"id":"{{{pending.TaskId}}}","task":"ghost","key":"work:1","attempt":1,"enqueuedAt":0,"fence":{{{slot.FencingToken + 1000}}},"args":{}}""",
            $$$"""{"v":1,"id":"{{{pending.TaskId}}}","task":"work","key":"work:1","attempt":1,"enqueuedAt":0,"args":{"key":"x"}}""",
            $$$"""{"v":1,"id":"{{{pending.TaskId}}}","task":"work","key":"work:1",""",
        ];

        // Received after the real message, which waits in the broker meanwhile.
        await using var real = await ReceiveAsync(solo, stalled: false);
        await solo.Broker.PublishAsync([.. forged.Select((body, i) => new OutgoingMessage($"forged-{i}", Queue, Encoding.UTF8.GetBytes(body)))], default);
        for (var i = 0; i < forged.Length; i++)
        {
            await using var lease = await ReceiveAsync(solo, stalled: false);
            await Process(solo, lease);
        }

        Assert.Equal(forged.Length, (await solo.CountsAsync()).DeadLettered);
        Assert.Equal(slot, await locks.GetAsync(QueueKey, default));
        var again = await solo.Client.EnqueueAsync(new Work(1));
        Assert.Equal(EnqueueOutcome.Duplicate, again.Outcome);
        Assert.Equal(pending.TaskId, again.TaskId);

        await Process(solo, real);
        Assert.Single(solo.Probe.Completions);
        Assert.Empty(await solo.LocksLeftAsync());
    }

    private (Harness Solo, ILockStore Locks) Create(TimeSpan runLease, TimeSpan? deliveryLease = null)
    {
        var (broker, inner) = CreateBackend(_time, deliveryLease ?? DeliveryLease);
        var observed = new ObservedLockStore(inner);
        var harness = SoloHarness.Create(
            t => t.Unique(u => u.Coalesce().Key(w => w.Key).RunLease(runLease).RescheduleDelay(TimeSpan.FromMilliseconds(100))),
            time: _time,
            broker: broker,
            locks: observed,
            solo: s => s.Configure(o => o.DefaultQueue = Queue));
        _harnesses.Add(harness);
        return (new Harness(harness, observed, Queue), inner);
    }

    private async Task<TaskLease> ReceiveAsync(Harness solo, bool stalled)
    {
        var sentAt = _time.GetTimestamp();
        // On a server a message may take a moment to be due; on the fake clock it is due at once.
        var delivery = Assert.Single(await solo.Broker.ReceiveAsync(Queue, 1, UsesFakeClock ? TimeSpan.Zero : TimeSpan.FromSeconds(10), default));
        return solo.Leases.Track(stalled ? new StalledDelivery(delivery) : delivery, sentAt);
    }

    /// <summary>Lets time pass: the fake clock jumps, the real one is waited for.</summary>
    private async Task PassAsync(TimeSpan time)
    {
        if (_fake is not null)
        {
            _fake.Advance(time);
            await Task.Delay(1);
        }
        else
        {
            await Task.Delay(time);
        }
    }

    /// <summary>The calling thread stops for <paramref name="time"/>, as a stopped process does.</summary>
    private void Stall(TimeSpan time)
    {
        if (_fake is not null)
        {
            _fake.Advance(time);
        }
        else
        {
            Thread.Sleep(time);
        }
    }

    private static Task Process(Harness solo, TaskLease lease) => Task.Run(() => solo.Processor.ProcessAsync(lease, CancellationToken.None));

    /// <summary>The harness with the parts these tests drive by hand.</summary>
    private sealed class Harness(SoloHarness inner, ObservedLockStore observed, string queue)
    {
        public ObservedLockStore Observed => observed;

        public Probe Probe => inner.Probe;

        public IBroker Broker => inner.Broker;

        public ISoloClient Client => inner.Client;

        public TaskProcessor Processor => inner.Services.GetRequiredService<TaskProcessor>();

        public LeaseMonitor Leases => inner.Services.GetRequiredService<LeaseMonitor>();

        public Task<QueueCountsSnapshot> CountsAsync() => inner.CountsAsync(queue);

        public Task<List<LockInfo>> LocksLeftAsync() => inner.LocksLeftAsync();
    }
}
