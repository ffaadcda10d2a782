using System.Collections.Concurrent;
using System.Diagnostics;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Tests.Conformance;

namespace Solo.Tests.InMemory;

/// <summary>The broker suite on a fake clock, plus what only the in-memory broker promises.</summary>
public sealed class InMemoryBrokerTests : FakeClockBrokerConformanceTests
{
    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new InMemoryBroker(timeProvider, new InMemoryBrokerOptions { DeliveryLease = deliveryLease }));

    [Fact]
    public async Task ReceiveAsync_DefaultOptions_LeasesForThirtySeconds()
    {
        var broker = new InMemoryBroker(FakeTime);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));

        FakeTime.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));
        Assert.Empty(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
        FakeTime.Advance(TimeSpan.FromTicks(1));

        Assert.Equal(2, Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default)).DeliveryCount);
    }

    [Fact]
    public async Task ReceiveAsync_InfiniteWait_ReturnsOnPublish()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();

        var receive = broker.ReceiveAsync(queue, 1, Timeout.InfiniteTimeSpan, default).AsTask();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);

        Assert.Single(await receive.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Constructor_LeaseNotPositive_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryBroker(FakeTime, new InMemoryBrokerOptions { DeliveryLease = TimeSpan.Zero }));
    }

    [Fact]
    public async Task RenewAsync_ManyTimes_DoesNotPileUpLeaseEntries()
    {
        var broker = new InMemoryBroker(FakeTime);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));

        for (var i = 0; i < 10_000; i++)
        {
            FakeTime.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(await delivery.RenewAsync(default));
        }

        Assert.InRange(broker.LeaseEntries(queue), 1, 2 + 64 + 1);
    }

    [Fact]
    public async Task ReceiveAsync_EightWorkersTwentyThousandMessages_DeliversEachOnceQuickly()
    {
        const int messageCount = 20_000;
        var broker = new InMemoryBroker(FakeTime);
        var queue = NewQueue();
        var seen = new ConcurrentDictionary<string, int>();
        var received = 0;
        using var done = new CancellationTokenSource();
        var stopwatch = Stopwatch.StartNew();

        async Task WorkAsync()
        {
            try
            {
                while (!done.IsCancellationRequested)
                {
                    foreach (var delivery in await broker.ReceiveAsync(queue, 16, TimeSpan.FromSeconds(1), done.Token))
                    {
                        seen.AddOrUpdate(delivery.MessageId, 1, (_, n) => n + 1);
                        await delivery.AckAsync(default);
                        if (Interlocked.Increment(ref received) == messageCount)
                        {
                            await done.CancelAsync();
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
            }
        }

        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(WorkAsync)).ToArray();
        // Published one by one while the workers take them, as enqueues from a web app would be.
        for (var i = 0; i < messageCount; i++)
        {
            await broker.PublishAsync([new OutgoingMessage($"m{i}", queue, Body("x"))], default);
        }

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(messageCount, seen.Count);
        Assert.All(seen, pair => Assert.Equal(1, pair.Value));
        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        Assert.InRange(broker.LeaseEntries(queue), 0, 64);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }
}
