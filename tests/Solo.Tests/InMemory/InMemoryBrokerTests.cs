using System.Collections.Concurrent;
using System.Diagnostics;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Tests.Conformance;

namespace Solo.Tests.InMemory;

/// <summary>The broker suite on a fake clock, plus what only the in-memory broker promises.</summary>
public sealed class InMemoryBrokerTests : BrokerConformanceTests
{
    protected override bool SupportsFakeTime => true;

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
    public async Task ReceiveAsync_Waiting_WakesWhenTheClockMakesADelayedMessageDue()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"), FakeTime.GetUtcNow() + TimeSpan.FromSeconds(10))], default);

        var receive = broker.ReceiveAsync(queue, 1, TimeSpan.FromHours(1), default).AsTask();
        await Task.Delay(50);
        Assert.False(receive.IsCompleted);
        FakeTime.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal("m1", Assert.Single(await receive.WaitAsync(TimeSpan.FromSeconds(10))).MessageId);
    }

    [Fact]
    public async Task ReceiveAsync_Waiting_WakesWhenTheClockEndsALease()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromSeconds(30));
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));

        var receive = broker.ReceiveAsync(queue, 1, TimeSpan.FromHours(1), default).AsTask();
        await Task.Delay(50);
        Assert.False(receive.IsCompleted);
        FakeTime.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(2, Assert.Single(await receive.WaitAsync(TimeSpan.FromSeconds(10))).DeliveryCount);
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
    public async Task ReceiveAsync_CancelledWhileWaiting_ThrowsAndLosesNothing()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        using var cancel = new CancellationTokenSource();

        var receive = broker.ReceiveAsync(queue, 1, TimeSpan.FromHours(1), cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WaitAsync(TimeSpan.FromSeconds(10)));
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
    }

    [Fact]
    public async Task ReceiveAsync_ScheduledMessages_BecomeReadyInOrderOfStartTime()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        var now = FakeTime.GetUtcNow();
        await broker.PublishAsync(
        [
            new OutgoingMessage("third", queue, Body("c"), now + TimeSpan.FromSeconds(30)),
            new OutgoingMessage("first", queue, Body("a"), now + TimeSpan.FromSeconds(10)),
            new OutgoingMessage("second", queue, Body("b"), now + TimeSpan.FromSeconds(20)),
        ], default);

        FakeTime.Advance(TimeSpan.FromMinutes(1));
        var received = await broker.ReceiveAsync(queue, 10, TimeSpan.Zero, default);

        Assert.Equal(["first", "second", "third"], received.Select(d => d.MessageId));
    }

    [Fact]
    public async Task ReceiveAsync_ScheduledAndRedelivered_ComeInTheOrderTheyBecameDue()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromSeconds(20));
        var queue = NewQueue();
        var now = FakeTime.GetUtcNow();
        await broker.PublishAsync(
        [
            new OutgoingMessage("at-30", queue, Body("c"), now + TimeSpan.FromSeconds(30)),
            new OutgoingMessage("at-10", queue, Body("a"), now + TimeSpan.FromSeconds(10)),
            new OutgoingMessage("leased", queue, Body("b")),
        ], default);
        Assert.Equal("leased", Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default)).MessageId);

        FakeTime.Advance(TimeSpan.FromMinutes(1));
        var received = await broker.ReceiveAsync(queue, 10, TimeSpan.Zero, default);

        Assert.Equal(["at-10", "leased", "at-30"], received.Select(d => d.MessageId));
    }

    [Fact]
    public async Task AckAsync_AfterLeaseEndedBeforeRedelivery_DoesNothingAndTheMessageComesBack()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromSeconds(30));
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var late = Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
        FakeTime.Advance(TimeSpan.FromSeconds(30));

        await late.AckAsync(default);

        Assert.Equal(new QueueCounts(1, 0, 0, 0), await broker.GetCountsAsync(queue, default));
        Assert.Equal(2, Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default)).DeliveryCount);
    }

    [Fact]
    public async Task PublishAsync_BufferChangedAfterwards_DeliversThePublishedBytes()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        byte[] buffer = [1, 2, 3];

        await broker.PublishAsync([new OutgoingMessage("m1", queue, buffer)], default);
        buffer[0] = 99;

        Assert.Equal([1, 2, 3], Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default)).Body.ToArray());
    }

    [Fact]
    public async Task PublishAsync_BatchWithAnInvalidMessage_ThrowsAndStoresNone()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a")), new OutgoingMessage("m2", "", Body("b"))], default));

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task ReceiveAsync_InvalidArguments_Throw()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await broker.ReceiveAsync("q", 0, TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await broker.ReceiveAsync("q", 1, TimeSpan.FromSeconds(-2), default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await broker.ReceiveAsync("", 1, TimeSpan.Zero, default));
    }

    [Fact]
    public void Constructor_LeaseNotPositive_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryBroker(FakeTime, new InMemoryBrokerOptions { DeliveryLease = TimeSpan.Zero }));
    }

    [Fact]
    public async Task RequeueAsync_ReplacementForAnotherQueue_MovesTheMessageThere()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        var other = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));

        await delivery.RequeueAsync(new OutgoingMessage("m1", other, Body("a")), default);

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        Assert.Equal(other, Assert.Single(await broker.ReceiveAsync(other, 1, TimeSpan.Zero, default)).Queue);
    }

    [Fact]
    public async Task RequeueAsync_InvalidReplacement_ThrowsAndKeepsTheDelivery()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));

        await Assert.ThrowsAsync<ArgumentException>(async () => await delivery.RequeueAsync(new OutgoingMessage("m1", "", Body("a")), default));

        Assert.Equal(new QueueCounts(0, 0, 1, 0), await broker.GetCountsAsync(queue, default));
        Assert.True(await delivery.RenewAsync(default));
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
