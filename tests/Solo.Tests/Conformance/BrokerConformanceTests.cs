using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Solo.Brokers;

namespace Solo.Tests.Conformance;

/// <summary>
/// What every <see cref="IBroker"/> must do. A backend joins by subclassing and implementing
/// <see cref="CreateBrokerAsync"/>; a backend whose clock can be faked also overrides
/// <see cref="SupportsFakeTime"/>, the others run on real time with short leases and delays.
/// Every test uses queues of its own, so subclasses may share one server.
/// </summary>
/// <remarks>
/// Stale deliveries (whose lease ended, by time or by settling) must be harmless: settling them does
/// nothing and does not throw, renewing them returns false. The engine relies on that.
/// </remarks>
public abstract class BrokerConformanceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset FakeStart = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly List<IBroker> _brokers = [];
    private FakeTimeProvider? _fake;

    /// <summary>
    /// Creates a broker whose deliveries are leased for <paramref name="deliveryLease"/> and which reads
    /// time from <paramref name="timeProvider"/> (the system clock unless <see cref="SupportsFakeTime"/>).
    /// Disposed after the test when it is disposable.
    /// </summary>
    protected abstract ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease);

    /// <summary>True when the broker takes all its time from the given provider, so a fake clock can drive it.</summary>
    protected virtual bool SupportsFakeTime => false;

    /// <summary>The lease of tests that let a lease run out; also the delay of delayed messages.</summary>
    protected virtual TimeSpan ShortLease => TimeSpan.FromSeconds(2);

    /// <summary>The lease of tests whose leases must hold throughout.</summary>
    protected virtual TimeSpan LongLease => TimeSpan.FromMinutes(5);

    /// <summary>Time added after a lease end or start time before expecting the broker to have noticed it.</summary>
    protected virtual TimeSpan Margin => TimeSpan.FromMilliseconds(500);

    /// <summary>How long a receive waits where nothing must come (zero on a fake clock, which would not move).</summary>
    protected virtual TimeSpan QuietWait => SupportsFakeTime ? TimeSpan.Zero : TimeSpan.FromMilliseconds(300);

    /// <summary>How long a receive waits where something must come.</summary>
    protected virtual TimeSpan ReceiveWait => TimeSpan.FromSeconds(5);

    /// <summary>How far a time the broker reports may be from the test's clock (brokers on a server use their own).</summary>
    protected virtual TimeSpan ClockTolerance => SupportsFakeTime ? TimeSpan.Zero : TimeSpan.FromSeconds(1);

    /// <summary>Real time after which a test that should have finished fails instead of hanging.</summary>
    protected virtual TimeSpan Guard => TimeSpan.FromSeconds(30);

    protected TimeProvider Time { get; private set; } = TimeProvider.System;

    /// <summary>The fake clock, for tests of backends that <see cref="SupportsFakeTime"/>.</summary>
    protected FakeTimeProvider FakeTime => _fake ?? throw new InvalidOperationException("This backend runs on the real clock.");

    public Task InitializeAsync()
    {
        if (SupportsFakeTime)
        {
            _fake = new FakeTimeProvider(FakeStart);
            Time = _fake;
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            switch (broker)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    [Fact]
    public async Task PublishAsync_OneMessage_IsReceivedWithItsIdQueueAndBody()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        byte[] body = [1, 2, 3, 0, 255];

        await broker.PublishAsync([new OutgoingMessage("m1", queue, body)], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        Assert.Equal("m1", delivery.MessageId);
        Assert.Equal(queue, delivery.Queue);
        Assert.Equal(body, delivery.Body.ToArray());
        Assert.Equal(1, delivery.DeliveryCount);
        await AssertNothingToReceiveAsync(broker, queue);
    }

    [Fact]
    public async Task PublishAsync_Batch_StoresEveryMessage()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var messages = Enumerable.Range(0, 10).Select(i => new OutgoingMessage($"m{i}", queue, new[] { (byte)i })).ToArray();

        await broker.PublishAsync(messages, default);

        Assert.Equal(new QueueCounts(10, 0, 0, 0), await broker.GetCountsAsync(queue, default));
        var received = await ReceiveExactlyAsync(broker, queue, 10);
        Assert.Equal(messages.Select(m => m.Id).Order(), received.Select(d => d.MessageId).Order());
        Assert.All(received, d => Assert.Equal([byte.Parse(d.MessageId[1..], System.Globalization.CultureInfo.InvariantCulture)], d.Body.ToArray()));
        await AssertNothingToReceiveAsync(broker, queue);
    }

    [Fact]
    public async Task PublishAsync_ToOneQueue_LeavesOtherQueuesEmpty()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var other = NewQueue();

        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);

        await AssertNothingToReceiveAsync(broker, other);
        Assert.Equal(default, await broker.GetCountsAsync(other, default));
        Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
    }

    [Fact]
    public async Task ReceiveAsync_ReadyMessages_ComeInPublishOrder()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var ids = Enumerable.Range(0, 20).Select(i => $"m{i:D2}").ToArray();
        foreach (var id in ids.Take(10))
        {
            await broker.PublishAsync([new OutgoingMessage(id, queue, Body(id))], default);
        }

        await broker.PublishAsync(ids.Skip(10).Select(id => new OutgoingMessage(id, queue, Body(id))).ToArray(), default);

        var received = new List<string>();
        while (received.Count < ids.Length)
        {
            var batch = await ReceiveSomeAsync(broker, queue, 3);
            foreach (var delivery in batch)
            {
                received.Add(delivery.MessageId);
                await delivery.AckAsync(default);
            }
        }

        Assert.Equal(ids, received);
    }

    [Fact]
    public async Task ReceiveAsync_MoreReadyThanMax_ReturnsAtMostMax()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        await broker.PublishAsync(Enumerable.Range(0, 5).Select(i => new OutgoingMessage($"m{i}", queue, Body("x"))).ToArray(), default);

        var first = await ReceiveSomeAsync(broker, queue, 2);

        Assert.InRange(first.Count, 1, 2);
        var rest = await ReceiveExactlyAsync(broker, queue, 5 - first.Count);
        Assert.Equal(5, first.Concat(rest).Select(d => d.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task ReceiveAsync_EmptyQueue_ReturnsEmptyAfterWaiting()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var wait = SupportsFakeTime ? TimeSpan.FromSeconds(10) : TimeSpan.FromMilliseconds(500);

        var stopwatch = Stopwatch.StartNew();
        var receive = broker.ReceiveAsync(queue, 10, wait, default).AsTask();
        if (SupportsFakeTime)
        {
            await Task.Delay(50);
            Assert.False(receive.IsCompleted, "the receive returned before its wait had passed on the clock");
            _fake!.Advance(wait);
        }

        var result = await receive.WaitAsync(Guard);

        Assert.Empty(result);
        if (!SupportsFakeTime)
        {
            Assert.True(stopwatch.Elapsed >= wait / 2, $"the receive returned after {stopwatch.Elapsed}, long before its wait of {wait}");
        }
    }

    [Fact]
    public async Task ReceiveAsync_Waiting_WakesWhenAMessageIsPublished()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        // On a fake clock the wait never runs out, so only the publish can end it.
        var wait = SupportsFakeTime ? TimeSpan.FromHours(1) : TimeSpan.FromSeconds(20);

        var stopwatch = Stopwatch.StartNew();
        var receive = broker.ReceiveAsync(queue, 10, wait, default).AsTask();
        await Task.Delay(100);
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var result = await receive.WaitAsync(Guard);

        Assert.Equal("m1", Assert.Single(result).MessageId);
        Assert.True(stopwatch.Elapsed < wait / 2, $"the receive took {stopwatch.Elapsed} to notice the publish");
    }

    [Fact]
    public async Task ReceiveAsync_DelayedMessage_IsNotDeliveredBeforeNotBeforeAndIsAfter()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var notBefore = Time.GetUtcNow() + ShortLease;

        await broker.PublishAsync([new OutgoingMessage("later", queue, Body("a"), notBefore)], default);

        Assert.Equal(new QueueCounts(0, 1, 0, 0), await broker.GetCountsAsync(queue, default));
        await AssertNothingToReceiveAsync(broker, queue);
        await PassTimeAsync(ShortLease / 4);
        await AssertNothingToReceiveAsync(broker, queue);
        await PassUntilAsync(notBefore + Margin);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
        Assert.Equal("later", delivery.MessageId);
        Assert.True(Time.GetUtcNow() >= notBefore);
    }

    [Fact]
    public async Task ReceiveAsync_DelayedMessageAheadOfReadyOne_DoesNotHoldItBack()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();

        await broker.PublishAsync([new OutgoingMessage("later", queue, Body("a"), Time.GetUtcNow() + LongLease)], default);
        await broker.PublishAsync([new OutgoingMessage("now", queue, Body("b"))], default);

        Assert.Equal("now", Assert.Single(await ReceiveExactlyAsync(broker, queue, 1)).MessageId);
        Assert.Equal(new QueueCounts(0, 1, 1, 0), await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task PublishAsync_NotBeforeInThePast_IsReadyAtOnce()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();

        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"), Time.GetUtcNow() - TimeSpan.FromMinutes(1))], default);

        Assert.Equal("m1", Assert.Single(await ReceiveExactlyAsync(broker, queue, 1)).MessageId);
    }

    [Fact]
    public async Task AckAsync_Delivery_RemovesTheMessage()
    {
        var broker = await NewBrokerAsync(ShortLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        await delivery.AckAsync(default);

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        // Not even once its lease would have ended.
        await PassTimeAsync(ShortLease + Margin);
        await AssertNothingToReceiveAsync(broker, queue);
        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task AckAsync_AlreadySettled_DoesNothing()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
        await delivery.AckAsync(default);

        await delivery.AckAsync(default);
        await delivery.RequeueAsync(new OutgoingMessage("m1-again", queue, Body("b")), default);
        await delivery.DeadLetterAsync("too late", default);

        Assert.False(await delivery.RenewAsync(default));
        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        Assert.Empty(await broker.GetDeadLettersAsync(queue, 10, default));
        await AssertNothingToReceiveAsync(broker, queue);
    }

    [Fact]
    public async Task RequeueAsync_Delivery_ReplacesTheMessageWithTheReplacement()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("first"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        await delivery.RequeueAsync(new OutgoingMessage("m1-retry", queue, Body("second")), default);

        Assert.Equal(new QueueCounts(1, 0, 0, 0), await broker.GetCountsAsync(queue, default));
        var replacement = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
        Assert.Equal("m1-retry", replacement.MessageId);
        Assert.Equal(Body("second"), replacement.Body.ToArray());
        Assert.Equal(1, replacement.DeliveryCount);
        await replacement.AckAsync(default);
        await AssertNothingToReceiveAsync(broker, queue);
    }

    [Fact]
    public async Task RequeueAsync_ReplacementWithNotBefore_IsDeliveredOnlyOnceDue()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("first"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
        var notBefore = Time.GetUtcNow() + ShortLease;

        await delivery.RequeueAsync(new OutgoingMessage("m1", queue, Body("retry"), notBefore), default);

        Assert.Equal(new QueueCounts(0, 1, 0, 0), await broker.GetCountsAsync(queue, default));
        await AssertNothingToReceiveAsync(broker, queue);
        await PassUntilAsync(notBefore + Margin);
        var retry = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
        Assert.Equal("m1", retry.MessageId);
        Assert.Equal(Body("retry"), retry.Body.ToArray());
    }

    [Fact]
    public async Task DeadLetterAsync_Delivery_StoresItWithReasonAndTime()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("payload"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        var before = Time.GetUtcNow();
        await delivery.DeadLetterAsync("poison: bad payload", default);
        var after = Time.GetUtcNow();

        var letter = Assert.Single(await broker.GetDeadLettersAsync(queue, 10, default));
        Assert.Equal("m1", letter.MessageId);
        Assert.Equal(queue, letter.Queue);
        Assert.Equal(Body("payload"), letter.Body.ToArray());
        Assert.Equal("poison: bad payload", letter.Reason);
        Assert.InRange(letter.DeadLetteredAt, before - ClockTolerance, after + ClockTolerance);
        Assert.Equal(new QueueCounts(0, 0, 0, 1), await broker.GetCountsAsync(queue, default));
        await AssertNothingToReceiveAsync(broker, queue);
    }

    [Fact]
    public async Task GetDeadLettersAsync_Several_ReturnsOldestFirstUpToMax()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        await broker.PublishAsync(Enumerable.Range(0, 3).Select(i => new OutgoingMessage($"m{i}", queue, Body("x"))).ToArray(), default);
        var deliveries = await ReceiveExactlyAsync(broker, queue, 3);
        foreach (var delivery in deliveries)
        {
            await delivery.DeadLetterAsync($"reason of {delivery.MessageId}", default);
        }

        var firstTwo = await broker.GetDeadLettersAsync(queue, 2, default);

        Assert.Equal(deliveries.Take(2).Select(d => d.MessageId), firstTwo.Select(l => l.MessageId));
        Assert.All(firstTwo, l => Assert.Equal($"reason of {l.MessageId}", l.Reason));
        Assert.Equal(3, (await broker.GetCountsAsync(queue, default)).DeadLettered);
        Assert.Empty(await broker.GetDeadLettersAsync(NewQueue(), 10, default));
    }

    [Fact]
    public async Task ReceiveAsync_UnsettledAfterLeaseEnds_RedeliversWithDeliveryCountTwo()
    {
        var broker = await NewBrokerAsync(ShortLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var first = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        await AssertNothingToReceiveAsync(broker, queue);
        await PassTimeAsync(ShortLease + Margin);
        var second = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        Assert.Equal("m1", second.MessageId);
        Assert.Equal(Body("a"), second.Body.ToArray());
        Assert.Equal(1, first.DeliveryCount);
        Assert.Equal(2, second.DeliveryCount);
        Assert.Equal(new QueueCounts(0, 0, 1, 0), await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task RenewAsync_BeforeLeaseEnds_KeepsTheMessageFromRedelivery()
    {
        var broker = await NewBrokerAsync(ShortLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        await PassTimeAsync(ShortLease * 0.6);
        Assert.True(await delivery.RenewAsync(default));
        await PassTimeAsync(ShortLease * 0.6);

        // Past the first lease's end, within the renewed one.
        await AssertNothingToReceiveAsync(broker, queue);
        Assert.Equal(new QueueCounts(0, 0, 1, 0), await broker.GetCountsAsync(queue, default));
        Assert.True(await delivery.RenewAsync(default));
        await delivery.AckAsync(default);
        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task RenewAsync_AfterLeaseEnded_ReturnsFalse()
    {
        var broker = await NewBrokerAsync(ShortLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        await PassTimeAsync(ShortLease + Margin);

        Assert.False(await delivery.RenewAsync(default));
        Assert.Equal(2, Assert.Single(await ReceiveExactlyAsync(broker, queue, 1)).DeliveryCount);
    }

    [Fact]
    public async Task StaleDelivery_AfterRedelivery_CannotSettleOrRenewTheNewCopy()
    {
        var broker = await NewBrokerAsync(ShortLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var stale = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
        await PassTimeAsync(ShortLease + Margin);
        var current = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        Assert.False(await stale.RenewAsync(default));
        await stale.AckAsync(default);
        await stale.RequeueAsync(new OutgoingMessage("m1-stale-retry", queue, Body("b")), default);
        await stale.DeadLetterAsync("stale", default);

        Assert.Equal(new QueueCounts(0, 0, 1, 0), await broker.GetCountsAsync(queue, default));
        Assert.Empty(await broker.GetDeadLettersAsync(queue, 10, default));
        await AssertNothingToReceiveAsync(broker, queue);
        Assert.True(await current.RenewAsync(default));
        await current.AckAsync(default);
        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task GetCountsAsync_MixedStates_CountsEachState()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var later = Time.GetUtcNow() + LongLease;
        await broker.PublishAsync(
        [
            new OutgoingMessage("r1", queue, Body("a")),
            new OutgoingMessage("r2", queue, Body("b")),
            new OutgoingMessage("r3", queue, Body("c")),
            new OutgoingMessage("r4", queue, Body("d")),
            new OutgoingMessage("s1", queue, Body("e"), later),
            new OutgoingMessage("s2", queue, Body("f"), later),
        ], default);
        Assert.Equal(new QueueCounts(4, 2, 0, 0), await broker.GetCountsAsync(queue, default));

        var taken = await ReceiveExactlyAsync(broker, queue, 2);
        Assert.Equal(new QueueCounts(2, 2, 2, 0), await broker.GetCountsAsync(queue, default));

        await taken[0].DeadLetterAsync("bad", default);
        await taken[1].AckAsync(default);
        var counts = await broker.GetCountsAsync(queue, default);

        Assert.Equal(new QueueCounts(2, 2, 0, 1), counts);
        Assert.Equal(4, counts.Pending);
    }

    [Fact]
    public async Task ReceiveAsync_ConcurrentConsumers_DeliverEachMessageExactlyOnce()
    {
        const int messageCount = 2_000;
        const int consumerCount = 4;
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var seen = new ConcurrentDictionary<string, int>();
        var received = 0;
        using var done = new CancellationTokenSource();

        async Task ConsumeAsync()
        {
            try
            {
                while (!done.IsCancellationRequested)
                {
                    var batch = await broker.ReceiveAsync(queue, 10, ReceiveWait, done.Token);
                    foreach (var delivery in batch)
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

        var consumers = Enumerable.Range(0, consumerCount).Select(_ => Task.Run(ConsumeAsync)).ToArray();
        for (var start = 0; start < messageCount; start += 100)
        {
            await broker.PublishAsync(Enumerable.Range(start, 100).Select(i => new OutgoingMessage($"m{i}", queue, Body("x"))).ToArray(), default);
        }

        try
        {
            await Task.WhenAll(consumers).WaitAsync(Guard * 2);
        }
        finally
        {
            await done.CancelAsync();
        }

        var duplicates = seen.Where(pair => pair.Value > 1).Select(pair => pair.Key).ToArray();
        Assert.True(duplicates.Length == 0, $"{duplicates.Length} messages were delivered more than once, e.g. {string.Join(", ", duplicates.Take(5))}");
        Assert.Equal(messageCount, seen.Count);
        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task PublishAsync_BatchWithAnInvalidMessage_ThrowsAndStoresNone()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a")), new OutgoingMessage("m2", "", Body("b"))], default));

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        await AssertNothingToReceiveAsync(broker, queue);
    }

    [Fact]
    public async Task PublishAsync_BufferChangedAfterwards_DeliversThePublishedBytes()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var buffer = new byte[] { 9, 1, 2, 3, 9 };

        await broker.PublishAsync([new OutgoingMessage("m1", queue, buffer.AsMemory(1, 3))], default);
        buffer[1] = 99;

        Assert.Equal([1, 2, 3], Assert.Single(await ReceiveExactlyAsync(broker, queue, 1)).Body.ToArray());
    }

    [Fact]
    public async Task ReceiveAsync_InvalidArguments_Throw()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await broker.ReceiveAsync(queue, 0, TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await broker.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(-2), default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await broker.ReceiveAsync("", 1, TimeSpan.Zero, default));
    }

    [Fact]
    public async Task ReceiveAsync_CancelledWhileWaiting_ThrowsPromptlyAndLosesNothing()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        using var cancel = new CancellationTokenSource();

        var receive = broker.ReceiveAsync(queue, 1, Timeout.InfiniteTimeSpan, cancel.Token).AsTask();
        await Task.Delay(100);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WaitAsync(TimeSpan.FromSeconds(2)));
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        Assert.Equal("m1", Assert.Single(await ReceiveExactlyAsync(broker, queue, 1)).MessageId);
    }

    [Fact]
    public async Task RequeueAsync_ReplacementForAnotherQueue_MovesTheMessageThere()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        var other = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        await delivery.RequeueAsync(new OutgoingMessage("m1", other, Body("b")), default);

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        await AssertNothingToReceiveAsync(broker, queue);
        var moved = Assert.Single(await ReceiveExactlyAsync(broker, other, 1));
        Assert.Equal(other, moved.Queue);
        Assert.Equal("m1", moved.MessageId);
        Assert.Equal(Body("b"), moved.Body.ToArray());
    }

    [Fact]
    public async Task RequeueAsync_InvalidReplacement_ThrowsAndKeepsTheDelivery()
    {
        var broker = await NewBrokerAsync(LongLease);
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));

        await Assert.ThrowsAsync<ArgumentException>(async () => await delivery.RequeueAsync(new OutgoingMessage("m1", "", Body("a")), default));

        Assert.Equal(new QueueCounts(0, 0, 1, 0), await broker.GetCountsAsync(queue, default));
        Assert.True(await delivery.RenewAsync(default));
    }

    protected static byte[] Body(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    protected static string NewQueue() => $"conformance-{Guid.NewGuid():N}";

    protected async Task<IBroker> NewBrokerAsync(TimeSpan deliveryLease)
    {
        var broker = await CreateBrokerAsync(Time, deliveryLease);
        _brokers.Add(broker);
        return broker;
    }

    /// <summary>Lets <paramref name="span"/> pass: advances the fake clock, or waits it out.</summary>
    protected async Task PassTimeAsync(TimeSpan span)
    {
        if (_fake is not null)
        {
            _fake.Advance(span);
        }
        else
        {
            await Task.Delay(span);
        }
    }

    /// <summary>Lets time pass until <paramref name="moment"/> on the test's clock.</summary>
    protected Task PassUntilAsync(DateTimeOffset moment)
    {
        var left = moment - Time.GetUtcNow();
        return left > TimeSpan.Zero ? PassTimeAsync(left) : Task.CompletedTask;
    }

    /// <summary>One receive of up to <paramref name="max"/> messages that must bring at least one.</summary>
    protected async Task<IReadOnlyList<IDelivery>> ReceiveSomeAsync(IBroker broker, string queue, int max)
    {
        using var guard = new CancellationTokenSource(Guard);
        try
        {
            var batch = await broker.ReceiveAsync(queue, max, ReceiveWait, guard.Token);
            Assert.True(batch.Count > 0, $"nothing arrived within {ReceiveWait}");
            Assert.True(batch.Count <= max, $"asked for at most {max}, got {batch.Count}");
            return batch;
        }
        catch (OperationCanceledException) when (guard.IsCancellationRequested)
        {
            Assert.Fail($"nothing arrived within {Guard} of real time");
            throw;
        }
    }

    /// <summary>Receives until <paramref name="count"/> messages came, never asking for more.</summary>
    protected async Task<IReadOnlyList<IDelivery>> ReceiveExactlyAsync(IBroker broker, string queue, int count)
    {
        var all = new List<IDelivery>();
        while (all.Count < count)
        {
            all.AddRange(await ReceiveSomeAsync(broker, queue, count - all.Count));
        }

        return all;
    }

    protected async Task AssertNothingToReceiveAsync(IBroker broker, string queue)
    {
        var unexpected = await broker.ReceiveAsync(queue, 100, QuietWait, default).AsTask().WaitAsync(Guard);
        Assert.True(unexpected.Count == 0, $"expected nothing, received {string.Join(", ", unexpected.Select(d => $"{d.MessageId} (delivery {d.DeliveryCount})"))}");
    }
}
