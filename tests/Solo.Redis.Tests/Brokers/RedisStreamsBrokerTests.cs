using Solo.Brokers;
using Solo.Redis.Tests.Support;
using StackExchange.Redis;

namespace Solo.Redis.Tests.Brokers;

/// <summary>What only the Redis Streams broker promises: its keys, consumers and take-overs.</summary>
public sealed class RedisStreamsBrokerTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly string _prefix = RedisKeys.NewPrefix("broker");
    private readonly List<RedisStreamsBroker> _brokers = [];

    private static IDatabase Db => RedisServer.SharedConnection.GetDatabase();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Queue_Keys_ShareOneHashSlotAndOnlyTheStreamOutlivesADrain()
    {
        var broker = NewBroker(TimeSpan.FromMinutes(1));
        var later = DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300);
        await broker.PublishAsync([new OutgoingMessage("a", "q1", Body("a")), new OutgoingMessage("b", "q1", Body("b"), later)], default);
        var first = Assert.Single(await broker.ReceiveAsync("q1", 10, Wait, default));
        await first.DeadLetterAsync("bad", default);

        var keys = await RedisKeys.UnderAsync(RedisServer.SharedConnection, _prefix);
        Assert.Equal([_prefix + "{q1}:d", _prefix + "{q1}:s", _prefix + "{q1}:z"], keys);
        Assert.Single(keys.Select(ClusterSlot.Of).Distinct());

        var second = Assert.Single(await broker.ReceiveAsync("q1", 10, Wait, default));
        await second.AckAsync(default);
        await Db.KeyDeleteAsync(_prefix + "{q1}:d");
        Assert.Equal([_prefix + "{q1}:s"], await RedisKeys.UnderAsync(RedisServer.SharedConnection, _prefix));
        Assert.Equal(0, await Db.StreamLengthAsync(_prefix + "{q1}:s"));
    }

    [Fact]
    public async Task ReceiveAsync_ConsumerDiedHoldingAMessage_AnotherConsumerTakesItOverAfterTheLease()
    {
        var lease = TimeSpan.FromMilliseconds(500);
        var dead = NewBroker(lease);
        var alive = NewBroker(lease);
        await dead.PublishAsync([new OutgoingMessage("m1", "q", Body("x"))], default);
        var lost = Assert.Single(await dead.ReceiveAsync("q", 10, Wait, default));

        Assert.Empty(await alive.ReceiveAsync("q", 10, TimeSpan.FromMilliseconds(200), default));
        var taken = Assert.Single(await alive.ReceiveAsync("q", 10, Wait, default));

        Assert.Equal(lease, ((IBroker)alive).DeliveryLease);
        Assert.Equal("m1", taken.MessageId);
        Assert.Equal(2, taken.DeliveryCount);
        Assert.False(await lost.RenewAsync(default));
        await lost.AckAsync(default);
        Assert.Equal(new QueueCounts(0, 0, 1, 0), await alive.GetCountsAsync("q", default));
        Assert.True(await taken.RenewAsync(default));
        await taken.AckAsync(default);
        Assert.Equal(default, await alive.GetCountsAsync("q", default));
    }

    [Fact]
    public async Task ReceiveAsync_ExpiredLeasesBehindManyLiveOnes_AreTakenOverOneAtATime()
    {
        // One message per receive takes over at most one expired lease and looks at few pending entries per
        // call, so the broker must walk the pending list across calls rather than restart at its head.
        var lease = TimeSpan.FromMilliseconds(600);
        var holder = NewBroker(lease);
        var taker = NewBroker(lease);
        await holder.PublishAsync(Enumerable.Range(0, 40).Select(i => new OutgoingMessage($"m{i:D2}", "q", Body("x"))).ToArray(), default);
        var held = new List<IDelivery>();
        while (held.Count < 40)
        {
            held.AddRange(await holder.ReceiveAsync("q", 40 - held.Count, Wait, default));
        }

        var live = held.Where(d => string.CompareOrdinal(d.MessageId, "m30") < 0).ToArray();
        using var stop = new CancellationTokenSource();
        var renewing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var d in live)
                {
                    Assert.True(await d.RenewAsync(default), $"{d.MessageId} lost its lease");
                }

                await Task.Delay(100);
            }
        });

        var takenOver = new List<IDelivery>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (takenOver.Count < 10 && DateTime.UtcNow < deadline)
        {
            takenOver.AddRange(await taker.ReceiveAsync("q", 1, TimeSpan.FromMilliseconds(200), default));
        }

        await stop.CancelAsync();
        await renewing;
        Assert.Equal(Enumerable.Range(30, 10).Select(i => $"m{i:D2}"), takenOver.Select(d => d.MessageId).Order(StringComparer.Ordinal));
        Assert.All(takenOver, d => Assert.Equal(2, d.DeliveryCount));
    }

    [Fact]
    public async Task PublishAsync_TwoEqualDelayedMessages_DeliversBoth()
    {
        var broker = NewBroker(TimeSpan.FromMinutes(1));
        var due = DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200);
        var message = new OutgoingMessage("same", "q", Body("same body"), due);

        await broker.PublishAsync([message, message], default);

        Assert.Equal(2, (await broker.GetCountsAsync("q", default)).Scheduled);
        var received = new List<IDelivery>();
        while (received.Count < 2)
        {
            received.AddRange(await broker.ReceiveAsync("q", 2, Wait, default));
        }

        Assert.All(received, d => Assert.Equal(("same", "same body"), (d.MessageId, System.Text.Encoding.UTF8.GetString(d.Body.Span))));
    }

    [Fact]
    public async Task DisposeAsync_ConsumerHoldsNothing_LeavesTheGroup()
    {
        var idle = NewBroker(TimeSpan.FromMinutes(1));
        var busy = NewBroker(TimeSpan.FromMinutes(1));
        await idle.PublishAsync([new OutgoingMessage("m1", "q", Body("x"))], default);
        await Assert.Single(await idle.ReceiveAsync("q", 1, Wait, default)).AckAsync(default);
        await busy.PublishAsync([new OutgoingMessage("m2", "q", Body("x"))], default);
        Assert.Single(await busy.ReceiveAsync("q", 1, Wait, default));

        await idle.DisposeAsync();
        await busy.DisposeAsync();

        var consumers = (await Db.StreamConsumerInfoAsync(_prefix + "{q}:s", "solo")).Select(c => c.Name.ToString());
        Assert.Equal([busy.ConsumerName], consumers);
    }

    [Fact]
    public async Task ReceiveAsync_Cancelled_StopsWaitingPromptly()
    {
        var broker = NewBroker(TimeSpan.FromMinutes(1));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await broker.ReceiveAsync("q", 1, TimeSpan.FromSeconds(30), cancel.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Constructor_KeyPrefixWithBrace_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RedisStreamsBroker(RedisServer.SharedConnection, TimeProvider.System, new RedisStreamsBrokerOptions { KeyPrefix = "a{b}" }));
    }

    private static byte[] Body(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task ReceiveAsync_ConsumersOfKilledProcessesIdleLongEnough_RemovedUnlessTheyHoldAMessage()
    {
        // Two instances that never leave the group, as killed processes: one idle with nothing, one holding a message.
        var idle = NewBroker(TimeSpan.FromMinutes(1));
        var holding = NewBroker(TimeSpan.FromMinutes(1));
        await idle.PublishAsync([new OutgoingMessage("done", "q", Body("d"))], default);
        await Assert.Single(await idle.ReceiveAsync("q", 1, Wait, default)).AckAsync(default);
        await holding.PublishAsync([new OutgoingMessage("held", "q", Body("h"))], default);
        Assert.Single(await holding.ReceiveAsync("q", 1, Wait, default));
        _brokers.Remove(idle);
        _brokers.Remove(holding);
        var before = (await Db.StreamConsumerInfoAsync(_prefix + "{q}:s", "solo")).Select(c => (string)c.Name!).ToList();
        Assert.Contains(idle.ConsumerName, before);
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        var survivor = new RedisStreamsBroker(RedisServer.SharedConnection, TimeProvider.System, new RedisStreamsBrokerOptions { KeyPrefix = _prefix, IdleConsumerTimeout = TimeSpan.FromSeconds(1) });
        _brokers.Add(survivor);
        await survivor.ReceiveAsync("q", 1, TimeSpan.Zero, default);

        var names = (await Db.StreamConsumerInfoAsync(_prefix + "{q}:s", "solo")).Select(c => (string)c.Name!).ToList();
        Assert.True(!names.Contains(idle.ConsumerName) && names.Contains(holding.ConsumerName), $"idle {idle.ConsumerName}, holding {holding.ConsumerName}, survivor {survivor.ConsumerName}; left: {string.Join(", ", names)}");
    }

    [Fact]
    public void Constructor_IdleConsumerTimeoutUnderOneSecond_ThrowsNamingTheSetting()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new RedisStreamsBroker(RedisServer.SharedConnection, TimeProvider.System, new RedisStreamsBrokerOptions { IdleConsumerTimeout = TimeSpan.FromMilliseconds(10) }));

        Assert.Contains("IdleConsumerTimeout", ex.Message, StringComparison.Ordinal);
    }

    private RedisStreamsBroker NewBroker(TimeSpan lease)
    {
        var broker = new RedisStreamsBroker(RedisServer.SharedConnection, TimeProvider.System, new RedisStreamsBrokerOptions { KeyPrefix = _prefix, DeliveryLease = lease });
        _brokers.Add(broker);
        return broker;
    }
}
