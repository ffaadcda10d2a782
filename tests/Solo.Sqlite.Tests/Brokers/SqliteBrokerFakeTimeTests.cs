using Solo.Brokers;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Sqlite.Tests.Brokers;

/// <summary>
/// The broker suite on a fake clock: every time the broker stores comes from its clock, so leases and start
/// times hold to the tick.
/// </summary>
public sealed class SqliteBrokerFakeTimeTests : BrokerConformanceTests, IDisposable
{
    private readonly TempDatabase _file = new();

    protected override bool SupportsFakeTime => true;

    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new SqliteBroker(_file.Options(deliveryLease), timeProvider));

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
    public async Task ReceiveAsync_CancelledWhileWaiting_ThrowsPromptlyAndLosesNothing()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        using var cancel = new CancellationTokenSource();

        var receive = broker.ReceiveAsync(queue, 1, Timeout.InfiniteTimeSpan, cancel.Token).AsTask();
        await Task.Delay(100);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WaitAsync(TimeSpan.FromSeconds(2)));
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
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
    public async Task PublishAsync_BufferChangedAfterwards_DeliversThePublishedBytes()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        var buffer = new byte[] { 9, 1, 2, 3, 9 };

        await broker.PublishAsync([new OutgoingMessage("m1", queue, buffer.AsMemory(1, 3))], default);
        buffer[1] = 99;

        Assert.Equal([1, 2, 3], Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default)).Body.ToArray());
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
    public async Task ReceiveAsync_InvalidArguments_Throw()
    {
        var broker = await NewBrokerAsync(TimeSpan.FromMinutes(5));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await broker.ReceiveAsync("q", 0, TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await broker.ReceiveAsync("q", 1, TimeSpan.FromSeconds(-2), default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await broker.ReceiveAsync("", 1, TimeSpan.Zero, default));
    }

    public void Dispose() => _file.Dispose();
}
