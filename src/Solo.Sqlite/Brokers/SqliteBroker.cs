using Solo.Brokers;
using Solo.Shared;

namespace Solo.Sqlite;

/// <summary>
/// A durable broker in a SQLite file that several processes on one machine share: FIFO queues, delayed
/// delivery, deliveries leased to their receiver and delivered again (in any process) when the lease ends
/// unsettled, and dead letters with their reason. A message survives the process that published it, and
/// one leased by a process that dies comes back after <see cref="SqliteOptions.DeliveryLease"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every operation is one <c>BEGIN IMMEDIATE</c> transaction, so a receive claims its messages atomically
/// across processes: no two receivers ever hold the same message at once. A batch publish stores all of
/// its messages or none.
/// </para>
/// <para>
/// Each delivery carries a lease token of its own. Once its lease has ended, because it was settled or
/// because its time ran out, the delivery is stale: settling it does nothing and renewing it returns false,
/// so a receiver that lost its lease can never ack, requeue or dead-letter the copy another receiver holds.
/// </para>
/// <para>
/// Start times, lease ends and dead-letter times come from the <see cref="TimeProvider"/>, as does the
/// <c>wait</c> of <see cref="ReceiveAsync"/>. A waiting receive looks at the file every
/// <see cref="SqliteOptions.PollInterval"/> of real time, to see other processes' messages, and at once
/// when this process publishes to its queue.
/// </para>
/// <para>
/// When another process keeps the file locked beyond <see cref="SqliteOptions.BusyTimeout"/>, or the file
/// cannot be opened, an operation throws <see cref="BackendUnavailableException"/> and has changed nothing.
/// </para>
/// </remarks>
public sealed class SqliteBroker : IBroker, IAsyncDisposable, IDisposable
{
    private const string InsertSql =
        "INSERT INTO solo_messages (queue, id, body, not_before) VALUES ($queue, $id, $body, $not_before)";

    internal const string AnyDueSql =
        "SELECT 1 FROM solo_messages WHERE queue = $queue AND not_before <= $now LIMIT 1";

    internal const string SelectDueSql =
        "SELECT seq, id, body, delivery_count FROM solo_messages WHERE queue = $queue AND not_before <= $now ORDER BY not_before, seq LIMIT $max";

    private const string LeaseSql =
        "UPDATE solo_messages SET not_before = $lease_ends, lease_token = $token, delivery_count = delivery_count + 1 WHERE seq = $seq";

    // Every settle matches the delivery's own lease, and only while it lasts.
    private const string DeleteLeasedSql =
        "DELETE FROM solo_messages WHERE seq = $seq AND lease_token = $token AND not_before > $now";

    private const string DeadLetterSql = """
        INSERT INTO solo_dead_letters (queue, id, body, reason, dead_lettered_at, delivery_count)
        SELECT queue, id, body, $reason, $now, delivery_count FROM solo_messages
        WHERE seq = $seq AND lease_token = $token AND not_before > $now
        """;

    private const string DeleteSql = "DELETE FROM solo_messages WHERE seq = $seq";

    private const string RenewSql =
        "UPDATE solo_messages SET not_before = MAX(not_before, $lease_ends) WHERE seq = $seq AND lease_token = $token AND not_before > $now";

    private const string CountsSql = """
        SELECT COALESCE(SUM(not_before <= $now), 0),
               COALESCE(SUM(not_before > $now AND lease_token IS NULL), 0),
               COALESCE(SUM(not_before > $now AND lease_token IS NOT NULL), 0)
        FROM solo_messages WHERE queue = $queue
        """;

    private const string CountDeadLettersSql = "SELECT COUNT(*) FROM solo_dead_letters WHERE queue = $queue";

    private const string SelectDeadLettersSql =
        "SELECT id, body, reason, dead_lettered_at FROM solo_dead_letters WHERE queue = $queue ORDER BY seq LIMIT $max";

    private readonly SqliteDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lease;
    private readonly TimeSpan _pollInterval;
    private readonly bool _systemClock;

    /// <summary>Creates a broker on its own connection to <see cref="SqliteOptions.Path"/>.</summary>
    /// <param name="options">Its settings; read once, here. The file is opened on first use.</param>
    /// <param name="timeProvider">The clock of start times, leases, dead-letter times and waits.</param>
    public SqliteBroker(SqliteOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var settings = options.Clone();
        settings.Validate(nameof(options));
        _database = new SqliteDatabase(settings);
        _ownsDatabase = true;
        _time = timeProvider;
        _lease = settings.DeliveryLease;
        _pollInterval = settings.PollInterval;
        _systemClock = ReferenceEquals(timeProvider, TimeProvider.System);
    }

    /// <summary>Creates a broker on a connection it shares (with a lock store) and does not dispose.</summary>
    internal SqliteBroker(SqliteDatabase database, SqliteOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate(nameof(options));
        _database = database;
        _time = timeProvider;
        _lease = options.DeliveryLease;
        _pollInterval = options.PollInterval;
        _systemClock = ReferenceEquals(timeProvider, TimeProvider.System);
    }

    /// <summary>The full path of the file, for tests.</summary>
    internal string DatabasePath => _database.Path;

    /// <inheritdoc />
    public TimeSpan? DeliveryLease => _lease;

    /// <inheritdoc />
    /// <remarks>Stores all messages in one transaction or, when one of them is invalid, none.</remarks>
    public async ValueTask PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            BrokerArguments.ValidateMessage(message, nameof(messages));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (messages.Count == 0)
        {
            return;
        }

        await _database.WriteAsync(
            db =>
            {
                var now = _time.GetUtcNow().UtcTicks;
                foreach (var message in messages)
                {
                    Insert(db, message, now);
                }

                return true;
            },
            cancellationToken).ConfigureAwait(false);

        _database.Signals.Published(messages);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="wait"/> is measured on the broker's <see cref="TimeProvider"/>;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits until a message comes or the token is cancelled.
    /// </remarks>
    public async ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        BrokerArguments.ValidateWait(wait);

        cancellationToken.ThrowIfCancellationRequested();
        var start = _time.GetUtcNow();
        DateTimeOffset? deadline = wait == Timeout.InfiniteTimeSpan || wait >= DateTimeOffset.MaxValue - start ? null : start + wait;
        while (true)
        {
            // Taken before looking, so that a publish landing between the look and the nap still ends the nap.
            var published = _database.Signals.WhenPublished(queue);
            var taken = await ClaimAsync(queue, maxMessages, cancellationToken).ConfigureAwait(false);
            if (taken.Count > 0)
            {
                return taken;
            }

            var now = _time.GetUtcNow();
            if (deadline <= now)
            {
                return [];
            }

            // On the system clock the last nap ends with the wait; any other clock may jump, so it is
            // looked at every poll.
            var nap = _systemClock && deadline is { } end && end - now < _pollInterval ? end - now : _pollInterval;
            await NapAsync(published, nap, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        return await _database.ReadAsync(
            db =>
            {
                var now = _time.GetUtcNow().UtcTicks;
                long ready, scheduled, inFlight;
                using (var reader = db.Command(CountsSql).Bind("$queue", queue).Bind("$now", now).ExecuteReader())
                {
                    reader.Read();
                    ready = reader.GetInt64(0);
                    scheduled = reader.GetInt64(1);
                    inFlight = reader.GetInt64(2);
                }

                var deadLettered = (long)db.Command(CountDeadLettersSql).Bind("$queue", queue).ExecuteScalar()!;
                return new QueueCounts(ready, scheduled, inFlight, deadLettered);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        return await _database.ReadAsync(
            db =>
            {
                var letters = new List<DeadLetter>();
                using var reader = db.Command(SelectDeadLettersSql).Bind("$queue", queue).Bind("$max", maxMessages).ExecuteReader();
                while (reader.Read())
                {
                    letters.Add(new DeadLetter(reader.GetString(0), queue, reader.GetBytes(1), reader.GetString(2), SqliteCommandExtensions.ToTime(reader.GetInt64(3))));
                }

                return (IReadOnlyList<DeadLetter>)letters;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the file if this broker opened it.</summary>
    public void Dispose()
    {
        if (_ownsDatabase)
        {
            _database.Dispose();
        }
    }

    /// <summary>Closes the file if this broker opened it.</summary>
    public ValueTask DisposeAsync() => _ownsDatabase ? _database.DisposeAsync() : ValueTask.CompletedTask;

    internal async Task AckAsync(long seq, long token, CancellationToken cancellationToken) =>
        await _database.WriteAsync(db => DeleteLeased(db, seq, token, _time.GetUtcNow().UtcTicks), cancellationToken).ConfigureAwait(false);

    internal async Task RequeueAsync(long seq, long token, OutgoingMessage replacement, CancellationToken cancellationToken)
    {
        // Checked before anything changes, so that a bad replacement cannot cost the original.
        BrokerArguments.ValidateMessage(replacement, nameof(replacement));
        var replaced = await _database.WriteAsync(
            db =>
            {
                var now = _time.GetUtcNow().UtcTicks;
                if (!DeleteLeased(db, seq, token, now))
                {
                    return false;
                }

                Insert(db, replacement, now);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        if (replaced)
        {
            _database.Signals.Published(replacement.Queue);
        }
    }

    internal async Task DeadLetterAsync(long seq, long token, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        await _database.WriteAsync(
            db =>
            {
                var moved = db.Command(DeadLetterSql)
                    .Bind("$seq", seq)
                    .Bind("$token", token)
                    .Bind("$now", _time.GetUtcNow().UtcTicks)
                    .Bind("$reason", reason)
                    .ExecuteNonQuery();
                if (moved == 1)
                {
                    db.Command(DeleteSql).Bind("$seq", seq).ExecuteNonQuery();
                }

                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    internal async Task<bool> RenewAsync(long seq, long token, CancellationToken cancellationToken) =>
        await _database.WriteAsync(
            db =>
            {
                var now = _time.GetUtcNow().UtcTicks;
                return db.Command(RenewSql)
                    .Bind("$seq", seq)
                    .Bind("$token", token)
                    .Bind("$now", now)
                    .Bind("$lease_ends", SqliteCommandExtensions.AddClamped(now, _lease))
                    .ExecuteNonQuery() == 1;
            },
            cancellationToken).ConfigureAwait(false);

    private static void Insert(SqliteDatabase db, OutgoingMessage message, long now)
    {
        // A start time in the past counts as now, so that such a message lines up behind those published
        // before it instead of jumping ahead of them.
        var notBefore = message.NotBefore is { } at && at.UtcTicks > now ? at.UtcTicks : now;
        db.Command(InsertSql)
            .Bind("$queue", message.Queue)
            .Bind("$id", message.Id)
            .Bind("$body", SqliteCommandExtensions.AsArray(message.Body))
            .Bind("$not_before", notBefore)
            .ExecuteNonQuery();
    }

    private static bool DeleteLeased(SqliteDatabase db, long seq, long token, long now) =>
        db.Command(DeleteLeasedSql).Bind("$seq", seq).Bind("$token", token).Bind("$now", now).ExecuteNonQuery() == 1;

    private async Task<IReadOnlyList<IDelivery>> ClaimAsync(string queue, int maxMessages, CancellationToken cancellationToken) =>
        await _database.RunAsync(
            db =>
            {
                // A look without the write lock first: idle receivers, in this process and others, must
                // not queue up on the lock only to find nothing.
                var any = db.Command(AnyDueSql).Bind("$queue", queue).Bind("$now", _time.GetUtcNow().UtcTicks).ExecuteScalar();
                return any is null ? [] : db.InTransaction(d => Claim(d, queue, maxMessages));
            },
            cancellationToken).ConfigureAwait(false);

    private IReadOnlyList<IDelivery> Claim(SqliteDatabase db, string queue, int maxMessages)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var leaseEnds = SqliteCommandExtensions.AddClamped(now, _lease);
        var due = new List<(long Seq, string Id, byte[] Body, int DeliveryCount)>(Math.Min(maxMessages, 64));
        // Read to the end before updating: the updates move rows within the index being read.
        using (var reader = db.Command(SelectDueSql).Bind("$queue", queue).Bind("$now", now).Bind("$max", maxMessages).ExecuteReader())
        {
            while (reader.Read())
            {
                due.Add((reader.GetInt64(0), reader.GetString(1), reader.GetBytes(2), reader.GetInt32(3)));
            }
        }

        var deliveries = new IDelivery[due.Count];
        var lease = db.Command(LeaseSql).Bind("$lease_ends", leaseEnds);
        for (var i = 0; i < due.Count; i++)
        {
            // Random, so that no delivery's token ever matches a later lease of the same row.
            var token = Random.Shared.NextInt64(1, long.MaxValue);
            lease.Bind("$seq", due[i].Seq).Bind("$token", token).ExecuteNonQuery();
            deliveries[i] = new SqliteDelivery(this, due[i].Seq, token, due[i].Id, queue, due[i].Body, due[i].DeliveryCount + 1);
        }

        return deliveries;
    }

    private async Task NapAsync(Task published, TimeSpan nap, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _database.Closing);
        try
        {
            // Real time: it paces looks at a file that other processes write in real time.
            var poll = Task.Delay(nap, TimeProvider.System, stop.Token);
            await Task.WhenAny(published, poll).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }
}
