using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Solo.Brokers;
using Solo.Sqlite.Tests.Support;

namespace Solo.Sqlite.Tests.Brokers;

/// <summary>
/// What only a broker in a shared file promises. Each <see cref="SqliteBroker"/> has its own connection,
/// so two of them on one file behave as two processes do.
/// </summary>
[Collection(ContentionCollection.Name)]
public sealed class SqliteBrokerTests : IAsyncLifetime, IDisposable
{
    private readonly TempDatabase _file = new();
    private readonly List<SqliteBroker> _brokers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    public void Dispose() => _file.Dispose();

    [Fact]
    public async Task ReceiveAsync_InstancesOnOneFileConsumingConcurrently_DeliverEachMessageExactlyOnce()
    {
        const int backlog = 8_000;
        const int messageCount = 10_000;
        var brokers = Enumerable.Range(0, 8).Select(_ => NewBroker(TimeSpan.FromMinutes(5))).ToArray();
        var queue = NewQueue();
        var seen = new ConcurrentDictionary<string, int>();
        var received = 0;
        using var done = new CancellationTokenSource();

        async Task ConsumeAsync(IBroker broker)
        {
            try
            {
                while (!done.IsCancellationRequested)
                {
                    foreach (var delivery in await broker.ReceiveAsync(queue, 2, TimeSpan.FromSeconds(1), done.Token))
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

        // A backlog first, so that every consumer races for the head of a full queue from the start.
        for (var start = 0; start < backlog; start += 100)
        {
            await brokers[0].PublishAsync(Enumerable.Range(start, 100).Select(n => new OutgoingMessage($"m{n}", queue, Body("x"))).ToArray(), default);
        }

        var consumers = Enumerable.Range(0, 8).Select(i => Task.Run(() => ConsumeAsync(brokers[i % brokers.Length]))).ToArray();
        // Then every "process" publishes while all consume, in batches and one message at a time.
        var publishers = brokers.Select((broker, p) => Task.Run(async () =>
        {
            for (var i = backlog + (p * 10); i < messageCount; i += 10 * brokers.Length)
            {
                var batch = Enumerable.Range(i, 10).Select(n => new OutgoingMessage($"m{n}", queue, Body("x"))).ToArray();
                await broker.PublishAsync(batch[..5], default);
                foreach (var message in batch[5..])
                {
                    await broker.PublishAsync([message], default);
                }
            }
        })).ToArray();

        await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(30));
        try
        {
            await Task.WhenAll(consumers).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // Messages never came: the assertions below name them.
        }
        finally
        {
            await done.CancelAsync();
        }

        var duplicates = seen.Where(pair => pair.Value > 1).Select(pair => pair.Key).ToArray();
        var lost = Enumerable.Range(0, messageCount).Select(n => $"m{n}").Where(id => !seen.ContainsKey(id)).ToArray();
        Assert.True(duplicates.Length == 0, $"{duplicates.Length} delivered twice, e.g. {string.Join(", ", duplicates.Take(5))}");
        Assert.True(lost.Length == 0, $"{lost.Length} never delivered, e.g. {string.Join(", ", lost.Take(5))}");
        Assert.Equal(messageCount, seen.Count);
        Assert.Equal(default, await brokers[1].GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task ReceiveAsync_InstanceDisposedWithoutSettling_RedeliversToAnotherInstanceAfterTheLease()
    {
        var lease = TimeSpan.FromSeconds(1);
        var dying = NewBroker(lease);
        var survivor = NewBroker(lease);
        var queue = NewQueue();
        await dying.PublishAsync([new OutgoingMessage("m1", queue, Body("payload"))], default);
        var stopwatch = Stopwatch.StartNew();
        Assert.Single(await dying.ReceiveAsync(queue, 1, TimeSpan.Zero, default));

        await dying.DisposeAsync();
        Assert.Empty(await survivor.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
        var redelivered = Assert.Single(await survivor.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(10), default));

        Assert.True(stopwatch.Elapsed >= lease, $"redelivered after {stopwatch.Elapsed}, before the lease of {lease} ended");
        Assert.Equal("m1", redelivered.MessageId);
        Assert.Equal(2, redelivered.DeliveryCount);
        Assert.Equal(Body("payload"), redelivered.Body.ToArray());
        await redelivered.AckAsync(default);
        Assert.Equal(default, await survivor.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task ReceiveAsync_WaitingWhileAnotherInstancePublishes_ReturnsWithinAFewPolls()
    {
        var publisher = NewBroker(TimeSpan.FromMinutes(5));
        var receiver = NewBroker(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        await receiver.GetCountsAsync(queue, default);

        var receive = receiver.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(20), default).AsTask();
        await Task.Delay(200);
        var stopwatch = Stopwatch.StartNew();
        await publisher.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var result = await receive.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("m1", Assert.Single(result).MessageId);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"took {stopwatch.Elapsed} to see another instance's publish");
    }

    [Fact]
    public async Task StaleDelivery_OfAnotherInstanceAfterRedelivery_CannotSettleTheNewCopy()
    {
        var lease = TimeSpan.FromMilliseconds(500);
        var slow = NewBroker(lease);
        var fast = NewBroker(lease);
        var queue = NewQueue();
        await slow.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        var stale = Assert.Single(await slow.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
        var current = Assert.Single(await fast.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(10), default));

        await stale.AckAsync(default);
        await stale.DeadLetterAsync("stale", default);
        Assert.False(await stale.RenewAsync(default));

        Assert.Equal(new QueueCounts(0, 0, 1, 0), await fast.GetCountsAsync(queue, default));
        Assert.True(await current.RenewAsync(default));
        await current.AckAsync(default);
        Assert.Equal(default, await slow.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task Reopen_AfterDispose_KeepsMessagesDelayedMessagesAndDeadLetters()
    {
        var queue = NewQueue();
        var later = DateTimeOffset.UtcNow + TimeSpan.FromHours(1);
        await using (var before = new SqliteBroker(_file.Options(), TimeProvider.System))
        {
            await before.PublishAsync(
            [
                new OutgoingMessage("ready", queue, Body("r")),
                new OutgoingMessage("poison", queue, Body("p")),
                new OutgoingMessage("delayed", queue, Body("d"), later),
            ], default);
            var taken = await before.ReceiveAsync(queue, 2, TimeSpan.Zero, default);
            await taken.Single(d => d.MessageId == "poison").DeadLetterAsync("bad input", default);
            await taken.Single(d => d.MessageId == "ready").RequeueAsync(new OutgoingMessage("ready", queue, Body("r2")), default);
        }

        var after = NewBroker(TimeSpan.FromMinutes(5));

        Assert.Equal(new QueueCounts(1, 1, 0, 1), await after.GetCountsAsync(queue, default));
        var delivery = Assert.Single(await after.ReceiveAsync(queue, 10, TimeSpan.Zero, default));
        Assert.Equal(("ready", "r2"), (delivery.MessageId, Encoding.UTF8.GetString(delivery.Body.Span)));
        var letter = Assert.Single(await after.GetDeadLettersAsync(queue, 10, default));
        Assert.Equal(("poison", "bad input", "p"), (letter.MessageId, letter.Reason, Encoding.UTF8.GetString(letter.Body.Span)));
    }

    [Fact]
    public async Task ReceiveAsync_RowWrittenByHandWithTextBody_IsDeliveredAndCanBeDeadLettered()
    {
        var broker = NewBroker(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        await broker.GetCountsAsync(queue, default);
        await RawSqlite.ExecuteAsync(
            _file.Path,
            "INSERT INTO solo_messages (queue, id, body, not_before) VALUES ($queue, 42, 'not an envelope', 0)",
            ("$queue", queue));

        var delivery = Assert.Single(await broker.ReceiveAsync(queue, 10, TimeSpan.Zero, default));
        Assert.Equal("42", delivery.MessageId);
        Assert.Equal("not an envelope", Encoding.UTF8.GetString(delivery.Body.Span));
        await delivery.DeadLetterAsync("malformed", default);

        var letter = Assert.Single(await broker.GetDeadLettersAsync(queue, 10, default));
        Assert.Equal(("42", "malformed"), (letter.MessageId, letter.Reason));
        Assert.Equal(new QueueCounts(0, 0, 0, 1), await broker.GetCountsAsync(queue, default));
    }

    [Fact]
    public async Task PublishAsync_BatchFailingHalfway_StoresNone()
    {
        var broker = NewBroker(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        await broker.GetCountsAsync(queue, default);
        // A trigger stands in for a failure inside the transaction (a full disk, say), after some rows went in.
        await RawSqlite.ExecuteAsync(
            _file.Path,
            "CREATE TRIGGER fail_on_boom BEFORE INSERT ON solo_messages WHEN NEW.id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");

        await Assert.ThrowsAnyAsync<Exception>(async () => await broker.PublishAsync(
            [new OutgoingMessage("m1", queue, Body("a")), new OutgoingMessage("m2", queue, Body("b")), new OutgoingMessage("boom", queue, Body("c"))],
            default));

        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
        await broker.PublishAsync([new OutgoingMessage("m3", queue, Body("d"))], default);
        Assert.Equal("m3", Assert.Single(await broker.ReceiveAsync(queue, 10, TimeSpan.Zero, default)).MessageId);
    }

    [Fact]
    public async Task ReceiveAsync_FileLockedByAnotherProcessForAWhile_WaitsAndThenClaims()
    {
        var broker = NewBroker(TimeSpan.FromMinutes(5));
        var queue = NewQueue();
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default);
        await using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_file.Path};Pooling=False");
        await other.OpenAsync();
        await using (var begin = other.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();
        }

        var receive = Task.Run(async () => await broker.ReceiveAsync(queue, 1, TimeSpan.Zero, default));
        await Task.Delay(300);
        Assert.False(receive.IsCompleted, "the receive claimed while another connection held the write lock");
        await using (var commit = other.CreateCommand())
        {
            commit.CommandText = "COMMIT";
            await commit.ExecuteNonQueryAsync();
        }

        Assert.Equal("m1", Assert.Single(await receive.WaitAsync(TimeSpan.FromSeconds(10))).MessageId);
    }

    [Fact]
    public async Task PublishAsync_FileLockedLongerThanTheBusyTimeout_ThrowsBackendUnavailableAndWorksOnceFreed()
    {
        var options = _file.Options();
        options.BusyTimeout = TimeSpan.FromMilliseconds(200);
        var broker = new SqliteBroker(options, TimeProvider.System);
        _brokers.Add(broker);
        var queue = NewQueue();
        await broker.GetCountsAsync(queue, default);
        await using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_file.Path};Pooling=False");
        await other.OpenAsync();
        await using var command = other.CreateCommand();
        command.CommandText = "BEGIN IMMEDIATE";
        await command.ExecuteNonQueryAsync();

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BackendUnavailableException>(async () =>
            await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a"))], default));

        Assert.Equal($"SQLite {_file.Path}", error.Backend);
        Assert.Equal(5, Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(error.InnerException).SqliteErrorCode);
        // Microsoft.Data.Sqlite counts its own retries in whole seconds, so the wait ends within about one.
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(4));
        command.CommandText = "COMMIT";
        await command.ExecuteNonQueryAsync();
        await broker.PublishAsync([new OutgoingMessage("m2", queue, Body("b"))], default);
        Assert.Equal("m2", Assert.Single(await broker.ReceiveAsync(queue, 10, TimeSpan.Zero, default)).MessageId);
    }

    [Fact]
    public async Task ReceiveAsync_BrokerDisposedWhileWaiting_EndsTheWait()
    {
        var broker = new SqliteBroker(_file.Options(), TimeProvider.System);
        var queue = NewQueue();

        var receive = broker.ReceiveAsync(queue, 1, Timeout.InfiniteTimeSpan, default).AsTask();
        await Task.Delay(100);
        await broker.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => receive.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Constructor_InvalidOptions_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteBroker(new SqliteOptions { Path = _file.Path, DeliveryLease = TimeSpan.Zero }, TimeProvider.System));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteBroker(new SqliteOptions { Path = _file.Path, PollInterval = TimeSpan.Zero }, TimeProvider.System));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteBroker(new SqliteOptions { Path = _file.Path, BusyTimeout = TimeSpan.FromMilliseconds(-1) }, TimeProvider.System));
        Assert.Throws<ArgumentException>(() => new SqliteBroker(new SqliteOptions { Path = " " }, TimeProvider.System));
    }

    private static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    private static string NewQueue() => $"q-{Guid.NewGuid():N}";

    private SqliteBroker NewBroker(TimeSpan lease)
    {
        var broker = new SqliteBroker(_file.Options(lease), TimeProvider.System);
        _brokers.Add(broker);
        return broker;
    }
}
