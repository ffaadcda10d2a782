using Solo.Redis.Tests.Support;
using Solo.Tests.Support;

namespace Solo.Redis.Tests.Engine;

/// <summary>
/// Solo's engine (client, worker, task processor) on the Redis broker and lock store: the holes of the
/// recipe stay closed, the keys stay bounded, and the lock traffic stays within its budget.
/// </summary>
public sealed class RedisEngineTests
{
    private readonly string _lockPrefix = RedisKeys.NewPrefix("engine-locks");
    private readonly string _brokerPrefix = RedisKeys.NewPrefix("engine-queues");

    [Fact]
    public async Task RunAsync_OldTaskFinishesAfterItsLeaseExpiredAndANewerTaskTookTheKey_NewerLockStaysHeld()
    {
        // The blind-release hole: the old task's worker is cut off from Redis (its renewals hang), so its run
        // slot expires while it keeps running; a newer task of the key starts; then the old one finishes.
        var locks = new StallingLockStore(new RedisLockStore(RedisServer.SharedConnection, new RedisLockStoreOptions { KeyPrefix = _lockPrefix }));
        var oldGate = new TaskCompletionSource();
        var newGate = new TaskCompletionSource();
        await using var solo = SoloHarness.Create(
            t => t.Unique(u => u.Coalesce().Key(w => w.Key).RunLease(TimeSpan.FromMilliseconds(600)).RescheduleDelay(TimeSpan.FromMilliseconds(50))),
            broker: NewBroker(),
            locks: locks);
        // Both runs ignore their cancellation token: a stalled task does not notice it lost its lease.
        solo.Probe.OnRun = (w, _, _) => w.Value == 1 ? oldGate.Task : newGate.Task;
        var runKey = "solo:{work:1}:r";

        try
        {
            var old = await solo.Client.EnqueueAsync(new Work(1, 1));
            locks.StallRenewalsOf = old.TaskId;
            await solo.StartWorkerAsync();
            await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "the old task runs");
            await SoloHarness.WaitForAsync(async () => await locks.GetAsync(runKey, default) is null, "the old task's run slot expires");
            var newer = await solo.Client.EnqueueAsync(new Work(1, 2));
            await SoloHarness.WaitForAsync(() => solo.Probe.Running == 2, "the newer task runs beside the stalled one");
            Assert.Equal(newer.TaskId, (await locks.GetAsync(runKey, default))?.Owner);

            oldGate.SetResult();
            await SoloHarness.WaitForAsync(() => solo.Probe.Running == 1, "the old task ends");

            // A copy that lost its lease touches nothing: it does not even try to release (and a try, by
            // owner and token, would find the newer holder).
            Assert.Equal(EnqueueOutcome.Enqueued, newer.Outcome);
            Assert.DoesNotContain(locks.Releases, r => r.Owner == old.TaskId && r.Key == runKey && r.Released);
            var held = await locks.GetAsync(runKey, default);
            Assert.Equal(newer.TaskId, held?.Owner);
            Assert.Equal(EnqueueOutcome.Enqueued, (await solo.Client.EnqueueAsync(new Work(1, 3))).Outcome);
            Assert.Equal(EnqueueOutcome.Duplicate, (await solo.Client.EnqueueAsync(new Work(1, 4))).Outcome);

            newGate.SetResult();
            await solo.WaitUntilDrainedAsync();
            Assert.Empty(await solo.LocksLeftAsync());
        }
        finally
        {
            // A failed assertion must not leave a run that ignores cancellation: the worker could never stop.
            oldGate.TrySetResult();
            newGate.TrySetResult();
        }
    }

    [Fact]
    public async Task RunAsync_ManyUniqueTasksDrained_LeaveNoLockKeyAndAnEmptyStream()
    {
        const int events = 300;
        await using var solo = SoloHarness.Create(
            t => t.Unique(u => u.Coalesce().Key(w => w.Key).RescheduleDelay(TimeSpan.FromMilliseconds(20))),
            worker: w => w.ReceiveWait = TimeSpan.FromMilliseconds(100),
            broker: NewBroker(),
            locks: new RedisLockStore(RedisServer.SharedConnection, new RedisLockStoreOptions { KeyPrefix = _lockPrefix }));
        solo.Probe.OnRun = (_, _, ct) => Task.Delay(Random.Shared.Next(0, 3), ct);
        await solo.StartWorkerAsync();

        var results = new List<EnqueueResult>();
        for (var i = 0; i < events; i++)
        {
            results.Add(await solo.Client.EnqueueAsync(new Work(i % 25, i)));
        }

        await solo.WaitUntilDrainedAsync(TimeSpan.FromSeconds(30));

        var enqueued = results.Where(r => r.Outcome == EnqueueOutcome.Enqueued).Select(r => r.TaskId).ToHashSet();
        Assert.Subset(solo.Probe.Completions.Select(c => c.Context.TaskId).ToHashSet(), enqueued);
        Assert.Empty(await RedisKeys.UnderAsync(RedisServer.SharedConnection, _lockPrefix));
        Assert.Equal([_brokerPrefix + "{default}:s"], await RedisKeys.UnderAsync(RedisServer.SharedConnection, _brokerPrefix));
        Assert.Equal(0, await RedisServer.SharedConnection.GetDatabase().StreamLengthAsync(_brokerPrefix + "{default}:s"));
    }

    [Theory]
    [InlineData("Coalesce", 3)]
    [InlineData("UntilExecuted", 3)]
    [InlineData("UntilExecuting", 2)]
    [InlineData("WhileExecuting", 2)]
    public async Task RunAsync_OneUniqueTask_CostsAtMostThreeLockRoundTrips(string mode, int expected)
    {
        using var connection = RedisServer.Shared.Connect();
        var counter = new CommandCounter(connection);
        await using var solo = SoloHarness.Create(
            t => t.Unique(u =>
            {
                _ = mode switch
                {
                    "Coalesce" => u.Coalesce(),
                    "UntilExecuted" => u.UntilExecuted(),
                    "UntilExecuting" => u.UntilExecuting(),
                    _ => u.WhileExecuting(),
                };
                u.Key(w => w.Key);
            }),
            broker: NewBroker(),
            locks: new RedisLockStore(connection, new RedisLockStoreOptions { KeyPrefix = _lockPrefix }));
        await solo.StartWorkerAsync();

        counter.Start();
        await solo.Client.EnqueueAsync(new Work(1));
        await SoloHarness.WaitForAsync(() => !solo.Probe.Completions.IsEmpty, "the task ran");
        await solo.WaitUntilDrainedAsync();
        var commands = counter.Stop();

        Assert.Equal(expected, commands.Count);
        Assert.All(commands, c => Assert.Equal("EVAL", c));
        Assert.Empty(await RedisKeys.UnderAsync(RedisServer.SharedConnection, _lockPrefix));
    }

    [Fact]
    public async Task RunAsync_CoalesceTask_QueueAndRunSlotKeysShareAHashSlot()
    {
        var taken = new List<string>();
        var locks = new ObservedLockStore(new RedisLockStore(RedisServer.SharedConnection, new RedisLockStoreOptions { KeyPrefix = _lockPrefix }))
        {
            Acquired = (key, _) => { lock (taken) { taken.Add(key); } },
        };
        await using var solo = SoloHarness.Create(t => t.Unique(u => u.Coalesce().Key(w => w.Key)), broker: NewBroker(), locks: locks);
        await solo.StartWorkerAsync();

        await solo.Client.EnqueueAsync(new Work(42));
        await SoloHarness.WaitForAsync(() => !solo.Probe.Completions.IsEmpty, "the task ran");

        Assert.Equal(["solo:{work:42}:q", "solo:{work:42}:r"], taken);
        Assert.Equal(ClusterSlot.Of(_lockPrefix + taken[0]), ClusterSlot.Of(_lockPrefix + taken[1]));
        Assert.Equal(ClusterSlot.Of("work:42"), ClusterSlot.Of(_lockPrefix + taken[1]));
    }

    private RedisStreamsBroker NewBroker() =>
        new(RedisServer.SharedConnection, TimeProvider.System, new RedisStreamsBrokerOptions { KeyPrefix = _brokerPrefix });
}
