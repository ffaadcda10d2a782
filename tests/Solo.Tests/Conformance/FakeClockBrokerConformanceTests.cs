using Solo.Brokers;

namespace Solo.Tests.Conformance;

/// <summary>
/// The broker suite for backends that take all their time from the given <see cref="TimeProvider"/>, plus
/// what only a fake clock can show: leases and start times that hold to the tick, and the order of
/// messages that became due while the clock jumped.
/// </summary>
public abstract class FakeClockBrokerConformanceTests : BrokerConformanceTests
{
    protected sealed override bool SupportsFakeTime => true;

    [Fact]
    public async Task ReceiveAsync_LeaseEndsOneTickLater_NotBeforeAndThenAgain()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromSeconds(30));
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));

        FakeTime.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));
        Assert.Empty(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
        FakeTime.Advance(TimeSpan.FromTicks(1));

        Assert.Equal(2, Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default)).DeliveryCount);
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
}
