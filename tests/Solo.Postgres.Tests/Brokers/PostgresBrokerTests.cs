using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Solo.Brokers;
using Solo.Postgres.Tests.Support;

namespace Solo.Postgres.Tests.Brokers;

/// <summary>What the PostgreSQL broker promises beyond the conformance suite: several processes, notifications, atomic batches.</summary>
public sealed class PostgresBrokerTests(FreshDatabase database) : IClassFixture<FreshDatabase>, IAsyncLifetime
{
    private readonly List<PostgresBroker> _brokers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task ReceiveAsync_EightBrokersOnSeparateDataSources_DeliverTenThousandMessagesExactlyOnce()
    {
        const int messageCount = 10_000;
        var queue = NewQueue();
        // A data source each, as eight worker processes would have.
        var consumers = Enumerable.Range(0, 8).Select(_ => NewBroker(TimeSpan.FromMinutes(5))).ToArray();
        var publisher = NewBroker(TimeSpan.FromMinutes(5));
        var seen = new ConcurrentDictionary<string, int>();
        var received = 0;
        using var done = new CancellationTokenSource();

        async Task ConsumeAsync(PostgresBroker broker)
        {
            try
            {
                while (!done.IsCancellationRequested)
                {
                    foreach (var delivery in await broker.ReceiveAsync(queue, 50, TimeSpan.FromSeconds(2), done.Token))
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

        var consuming = consumers.Select(c => Task.Run(() => ConsumeAsync(c))).ToArray();
        for (var start = 0; start < messageCount; start += 500)
        {
            await publisher.PublishAsync(Enumerable.Range(start, 500).Select(i => new OutgoingMessage($"m{i}", queue, new[] { (byte)i })).ToArray(), default);
        }

        try
        {
            await Task.WhenAll(consuming).WaitAsync(TimeSpan.FromMinutes(3));
        }
        finally
        {
            await done.CancelAsync();
        }

        var duplicates = seen.Count(pair => pair.Value > 1);
        Assert.Equal(0, duplicates);
        Assert.Equal(messageCount, seen.Count);
        Assert.Equal(default, await publisher.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task StaleDelivery_LeaseEndedAndAnotherProcessHoldsTheCopy_CannotSettleOrRenewIt()
    {
        var queue = NewQueue();
        var first = NewBroker(TimeSpan.FromMilliseconds(500));
        var second = NewBroker(TimeSpan.FromMinutes(5));
        await first.PublishAsync([new OutgoingMessage("m1", queue, new byte[] { 1 })], default);
        var stale = Assert.Single(await first.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(5), default));
        await Task.Delay(800);
        var current = Assert.Single(await second.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(5), default));

        await stale.AckAsync(default);
        await stale.RequeueAsync(new OutgoingMessage("m1-stale", queue, new byte[] { 2 }), default);
        await stale.DeadLetterAsync("stale", default);
        var renewed = await stale.RenewAsync(default);

        Assert.False(renewed);
        Assert.Equal(2, current.DeliveryCount);
        Assert.Equal(new QueueCounts(0, 0, 1, 0), await second.GetCountsAsync(queue, default));
        Assert.True(await current.RenewAsync(default));
        await current.AckAsync(default);
        Assert.Equal(default, await second.GetCountsAsync(queue, default));
        Assert.Empty(await second.GetDeadLettersAsync(queue, 10, default));
    }

    [Fact]
    public async Task ReceiveAsync_PublishThroughAnotherDataSource_WakesTheReceiverLongBeforeItsNextPoll()
    {
        var queue = NewQueue();
        var receiver = new PostgresBroker(database.ConnectionString, new PostgresOptions { PollInterval = TimeSpan.FromMinutes(1) });
        _brokers.Add(receiver);
        var publisher = NewBroker(TimeSpan.FromMinutes(5));

        var receive = receiver.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(30), default).AsTask();
        // Long enough for the receiver's pauses to grow to seconds, so that only a notification can wake it soon.
        await Task.Delay(TimeSpan.FromSeconds(6.5));
        var published = Stopwatch.StartNew();
        await publisher.PublishAsync([new OutgoingMessage("m1", queue, new byte[] { 1 })], default);
        var delivery = Assert.Single(await receive.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("m1", delivery.MessageId);
        Assert.True(published.Elapsed < TimeSpan.FromSeconds(2), $"the receive noticed the publish after {published.Elapsed}");
    }

    [Fact]
    public async Task PublishAsync_BatchWithAMessageTheServerRefuses_StoresNone()
    {
        var queue = NewQueue();
        var broker = NewBroker(TimeSpan.FromMinutes(5));

        // PostgreSQL text cannot hold NUL, so the second message fails inside the statement.
        await Assert.ThrowsAsync<PostgresException>(async () => await broker.PublishAsync(
            [
                new OutgoingMessage("m1", queue, new byte[] { 1 }),
                new OutgoingMessage("m\0", queue, new byte[] { 2 }),
                new OutgoingMessage("m3", queue, new byte[] { 3 }),
            ],
            default));

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task PublishAsync_OwnSchemaAndPrefix_KeepsItsRowsThere()
    {
        var queue = NewQueue();
        var prefix = $"t{Guid.NewGuid():N}_";
        var broker = new PostgresBroker(database.ConnectionString, new PostgresOptions { Schema = "solo_custom", TablePrefix = prefix });
        _brokers.Add(broker);

        await broker.PublishAsync([new OutgoingMessage("m1", queue, new byte[] { 1 }), new OutgoingMessage("m2", queue, new byte[] { 2 }, DateTimeOffset.UtcNow.AddHours(1))], default);

        Assert.Equal(new QueueCounts(1, 1, 0, 0), await broker.GetCountsAsync(queue, default));
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM solo_custom.{prefix}messages WHERE queue = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = queue });
        Assert.Equal(2L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task RequeueAsync_ReplacementDelayed_KeepsIdAndStartsAfterItsTime()
    {
        var queue = NewQueue();
        var broker = NewBroker(TimeSpan.FromMinutes(5));
        await broker.PublishAsync([new OutgoingMessage("m1", queue, new byte[] { 1 })], default);
        var delivery = Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(5), default));

        await delivery.RequeueAsync(new OutgoingMessage("m1", queue, new byte[] { 9 }, DateTimeOffset.UtcNow.AddMilliseconds(700)), default);

        Assert.Empty(await broker.ReceiveAsync(queue, 1, TimeSpan.FromMilliseconds(200), default));
        var retry = Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(5), default));
        Assert.Equal("m1", retry.MessageId);
        Assert.Equal(new byte[] { 9 }, retry.Body.ToArray());
        Assert.Equal(1, retry.DeliveryCount);
    }

    private static string NewQueue() => $"q-{Guid.NewGuid():N}";

    private PostgresBroker NewBroker(TimeSpan lease)
    {
        var broker = new PostgresBroker(database.ConnectionString, new PostgresOptions { DeliveryLease = lease, PollInterval = TimeSpan.FromMilliseconds(200) });
        _brokers.Add(broker);
        return broker;
    }
}
