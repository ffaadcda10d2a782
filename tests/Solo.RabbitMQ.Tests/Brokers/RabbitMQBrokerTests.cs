using System.Diagnostics;
using RabbitMQ.Client;
using Solo.Brokers;
using Solo.RabbitMQ.Tests.Support;

namespace Solo.RabbitMQ.Tests.Brokers;

/// <summary>What RabbitMQ adds to the suite: crashes of a consumer's connection, the TTL delay queues, durable dead letters.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMQBrokerTests(RabbitMqServerFixture server) : IAsyncLifetime
{
    private static readonly TimeSpan ReceiveWait = TimeSpan.FromSeconds(10);
    private readonly List<RabbitMQBroker> _brokers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task ReceiveAsync_ConsumerConnectionDies_AnotherBrokerGetsTheUnackedMessages()
    {
        var crashed = NewBroker(server.Options(TimeSpan.FromMinutes(5)));
        var survivor = NewBroker(server.Options(TimeSpan.FromMinutes(5)));
        var queue = NewQueue();
        await crashed.PublishAsync([new OutgoingMessage("m1", queue, Body("a")), new OutgoingMessage("m2", queue, Body("b"))], default);
        var held = await ReceiveExactlyAsync(crashed, queue, 2);

        await crashed.AbortConsumingConnectionAsync();
        var redelivered = await ReceiveExactlyAsync(survivor, queue, 2);

        Assert.Equal(["m1", "m2"], redelivered.Select(d => d.MessageId).Order());
        Assert.All(redelivered, d => Assert.Equal(2, d.DeliveryCount));
        foreach (var stale in held)
        {
            Assert.False(await stale.RenewAsync(default));
            await stale.AckAsync(default);
            await stale.DeadLetterAsync("stale", default);
        }

        Assert.Equal(new QueueCounts(0, 0, 2, 0), await survivor.GetCountsAsync(queue, default));
        foreach (var delivery in redelivered)
        {
            await delivery.AckAsync(default);
        }

        Assert.Equal(default, await survivor.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task PublishAsync_SeveralDelays_EachArrivesInOrderWithinOneResolutionOfItsStart()
    {
        var broker = NewBroker(server.Options());
        var queue = NewQueue();
        // Declares the queue's objects and starts its consumer first, so that the clock below starts at the publish.
        Assert.Empty(await broker.ReceiveAsync(queue, 10, TimeSpan.Zero, default));
        var now = DateTimeOffset.UtcNow;
        var delays = new Dictionary<string, TimeSpan>
        {
            ["d1100"] = TimeSpan.FromMilliseconds(1100),
            ["d300"] = TimeSpan.FromMilliseconds(300),
            ["d700"] = TimeSpan.FromMilliseconds(700),
        };

        await broker.PublishAsync(delays.Select(p => new OutgoingMessage(p.Key, queue, Body(p.Key), now + p.Value)).ToArray(), default);
        Assert.Equal(new QueueCounts(0, 3, 0, 0), await broker.GetCountsAsync(queue, default));

        var arrivals = new List<(string Id, DateTimeOffset At)>();
        while (arrivals.Count < delays.Count)
        {
            foreach (var delivery in await broker.ReceiveAsync(queue, 10, ReceiveWait, default))
            {
                arrivals.Add((delivery.MessageId, DateTimeOffset.UtcNow));
                await delivery.AckAsync(default);
            }
        }

        Assert.Equal(["d300", "d700", "d1100"], arrivals.Select(a => a.Id));
        foreach (var (id, at) in arrivals)
        {
            var due = now + delays[id];
            Assert.True(at >= due, $"{id} arrived {(due - at).TotalMilliseconds:0} ms before its start time");
            // One resolution (100 ms) of rounding, plus scheduling slack on a busy 2-core machine.
            Assert.True(at - due < TimeSpan.FromMilliseconds(600), $"{id} arrived {(at - due).TotalMilliseconds:0} ms after its start time");
        }
    }

    [Fact]
    public async Task PublishAsync_DelayLongerThanOnePass_GoesRoundAgainAndArrivesAfterItsStart()
    {
        // Three levels of 100 ms cover 700 ms per pass: 2 s takes three passes.
        var options = server.Options();
        options.DelayLevels = 3;
        var broker = NewBroker(options);
        var queue = NewQueue();
        var notBefore = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2);

        await broker.PublishAsync([new OutgoingMessage("later", queue, Body("x"), notBefore)], default);

        var early = await broker.ReceiveAsync(queue, 10, notBefore - DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(200), default);
        Assert.Empty(early);
        var delivery = Assert.Single(await ReceiveExactlyAsync(broker, queue, 1));
        var arrived = DateTimeOffset.UtcNow;
        Assert.Equal("later", delivery.MessageId);
        Assert.Equal(1, delivery.DeliveryCount);
        Assert.True(arrived >= notBefore, $"arrived {(notBefore - arrived).TotalMilliseconds:0} ms early");
        Assert.True(arrived - notBefore < TimeSpan.FromSeconds(1), $"arrived {(arrived - notBefore).TotalMilliseconds:0} ms late");
    }

    [Fact]
    public async Task DeadLetterAsync_ReadByAnotherBroker_KeepsReasonTimeAndBodyAndReadingRemovesNothing()
    {
        var first = NewBroker(server.Options());
        var queue = NewQueue();
        await first.PublishAsync([new OutgoingMessage("m1", queue, Body("payload"))], default);
        var delivery = Assert.Single(await ReceiveExactlyAsync(first, queue, 1));
        var before = DateTimeOffset.UtcNow;
        await delivery.DeadLetterAsync("poison: ünïcode and \"quotes\"", default);
        await first.DisposeAsync();

        var second = NewBroker(server.Options());
        var letter = Assert.Single(await second.GetDeadLettersAsync(queue, 10, default));
        var again = Assert.Single(await second.GetDeadLettersAsync(queue, 10, default));

        Assert.Equal("m1", letter.MessageId);
        Assert.Equal(queue, letter.Queue);
        Assert.Equal(Body("payload"), letter.Body.ToArray());
        Assert.Equal("poison: ünïcode and \"quotes\"", letter.Reason);
        Assert.InRange(letter.DeadLetteredAt, before - TimeSpan.FromSeconds(1), DateTimeOffset.UtcNow);
        Assert.Equal(letter.MessageId, again.MessageId);
        Assert.Equal(letter.Reason, again.Reason);
        Assert.Equal(new QueueCounts(0, 0, 0, 1), await second.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task ReceiveAsync_QueueDeletedUnderTheConsumer_DeclaresItAgainAndResumes()
    {
        var broker = NewBroker(server.Options());
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        await Assert.Single(await ReceiveExactlyAsync(broker, queue, 1)).AckAsync(default);

        // The server cancels the consumer, which wakes this waiting receive to subscribe again.
        var waiting = broker.ReceiveAsync(queue, 10, ReceiveWait, default).AsTask();
        await DeleteQueueAsync(queue);
        var other = NewBroker(server.Options());
        var deadline = DateTimeOffset.UtcNow + ReceiveWait;
        while (broker.ConsumerStarts(queue) < 2)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the consumer did not start again");
            await Task.Delay(20);
        }

        await other.PublishAsync([new OutgoingMessage("m2", queue, Body("b"))], default);
        var delivery = Assert.Single(await waiting);

        Assert.Equal("m2", delivery.MessageId);
    }

    [Fact]
    public async Task PublishAsync_QueueDeletedBehindItsBack_DeclaresItAgainAndStoresTheMessage()
    {
        var broker = NewBroker(server.Options());
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);

        await DeleteQueueAsync(queue);
        // It believes the queue exists; the message comes back unroutable, so it declares and sends it again.
        await broker.PublishAsync([new OutgoingMessage("m2", queue, Body("b"))], default);

        Assert.Equal(new QueueCounts(1, 0, 0, 0), await broker.GetCountsAsync(queue, default));
        Assert.Equal("m2", Assert.Single(await ReceiveExactlyAsync(broker, queue, 1)).MessageId);
    }

    [Fact]
    public async Task GetCountsAsync_UnknownQueue_IsEmptyAndCreatesNothing()
    {
        var broker = NewBroker(server.Options());
        var queue = NewQueue();

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        Assert.Empty(await broker.GetDeadLettersAsync(queue, 10, default));

        Assert.False(await QueueExistsAsync(queue));
        Assert.False(await QueueExistsAsync(queue + ".dead"));
    }

    [Fact]
    public async Task PublishAsync_Batch_IsConfirmedFasterThanOneConfirmAtATime()
    {
        var broker = NewBroker(server.Options());
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("warm-up", queue, Body("x"))], default);
        const int count = 500;

        var single = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            await broker.PublishAsync([new OutgoingMessage($"s{i}", queue, Body("x"))], default);
        }

        single.Stop();
        var batch = Stopwatch.StartNew();
        await broker.PublishAsync(Enumerable.Range(0, count).Select(i => new OutgoingMessage($"b{i}", queue, Body("x"))).ToArray(), default);
        batch.Stop();

        // Confirms of a batch are in flight together; awaiting each one costs a round trip per message.
        Assert.True(batch.Elapsed * 2 < single.Elapsed, $"batch {batch.ElapsedMilliseconds} ms vs one at a time {single.ElapsedMilliseconds} ms");
        Assert.Equal((2 * count) + 1, (await broker.GetCountsAsync(queue, default)).Ready);
    }

    private static byte[] Body(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private static string NewQueue() => $"rabbitmq-{Guid.NewGuid():N}";

    private static async Task<IReadOnlyList<IDelivery>> ReceiveExactlyAsync(IBroker broker, string queue, int count)
    {
        var all = new List<IDelivery>();
        var deadline = DateTimeOffset.UtcNow + ReceiveWait;
        while (all.Count < count)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"received {all.Count} of {count} within {ReceiveWait}");
            all.AddRange(await broker.ReceiveAsync(queue, count - all.Count, ReceiveWait, default));
        }

        return all;
    }

    private RabbitMQBroker NewBroker(RabbitMQBrokerOptions options)
    {
        var broker = new RabbitMQBroker(options, TimeProvider.System);
        _brokers.Add(broker);
        return broker;
    }

    private async Task DeleteQueueAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = server.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
    }

    private async Task<bool> QueueExistsAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = server.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclarePassiveAsync(queue);
            return true;
        }
        catch (global::RabbitMQ.Client.Exceptions.OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }
}
