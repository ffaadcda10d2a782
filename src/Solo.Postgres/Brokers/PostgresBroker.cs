using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Solo.Brokers;
using Solo.Postgres.Brokers;
using Solo.Postgres.Storage;
using Solo.Shared;

namespace Solo.Postgres;

/// <summary>
/// A durable broker in PostgreSQL that any number of processes on any number of machines share: FIFO
/// queues, delayed delivery, deliveries leased to their receiver and delivered again (to anyone) when the
/// lease ends unsettled, and dead letters with their reason.
/// </summary>
/// <remarks>
/// <para>
/// A receive claims its messages in one statement (<c>FOR UPDATE SKIP LOCKED</c>), so concurrent receivers
/// never hold the same message at once and never wait for each other. A batch publish is one statement:
/// all of its messages are stored or none. Each delivery carries a lease token of its own; once its lease
/// has ended, by settling or by time, settling it does nothing and renewing it returns false, so a receiver
/// that lost its lease can never touch the copy another receiver holds.
/// </para>
/// <para>
/// Start times, lease ends and dead-letter times are compared with the database server's clock, so the
/// machines that share a database need not agree on the time. Only the <c>wait</c> of
/// <see cref="ReceiveAsync"/> is measured locally. A waiting receive is woken by publishes (of this process
/// directly, of others through <c>LISTEN</c>/<c>NOTIFY</c>) and otherwise polls, at most
/// <see cref="PostgresOptions.PollInterval"/> apart.
/// </para>
/// <para>
/// While the server cannot be reached, every operation throws <see cref="BackendUnavailableException"/>;
/// connections come from a pool, so the broker works again by itself once the server is back. The schema is
/// created or migrated on first use.
/// </para>
/// </remarks>
public sealed class PostgresBroker : IBroker, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan FirstNap = TimeSpan.FromMilliseconds(25);

    private readonly PostgresDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly TimeSpan _lease;
    private readonly TimeSpan _pollInterval;
    private readonly string _publishSql;
    private readonly string _claimSql;
    private readonly string _ackSql;
    private readonly string _requeueSql;
    private readonly string _deadLetterSql;
    private readonly string _renewSql;
    private readonly string _countsSql;
    private readonly string _deadLettersSql;

    /// <summary>Creates a broker with a connection pool of its own.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="options">Its settings; read once, here. Nothing connects before the first operation.</param>
    public PostgresBroker(string connectionString, PostgresOptions? options = null)
        : this(connectionString, Settings(options), ownsDatabase: true)
    {
    }

    /// <summary>Creates a broker on the app's data source, which it does not dispose.</summary>
    /// <param name="dataSource">Where its connections come from.</param>
    /// <param name="options">Its settings; read once, here.</param>
    public PostgresBroker(NpgsqlDataSource dataSource, PostgresOptions? options = null)
        : this(new PostgresDatabase(dataSource, ownsDataSource: false, Settings(options)), Settings(options), ownsDatabase: true)
    {
    }

    /// <summary>Creates a broker on a database object it shares (with a lock store) and does not dispose.</summary>
    internal PostgresBroker(PostgresDatabase database, PostgresOptions options)
        : this(database, options, ownsDatabase: false)
    {
    }

    private PostgresBroker(string connectionString, PostgresOptions options, bool ownsDatabase)
        : this(PostgresDatabase.Create(connectionString, options), options, ownsDatabase)
    {
    }

    private PostgresBroker(PostgresDatabase database, PostgresOptions options, bool ownsDatabase)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        _database = database;
        _ownsDatabase = ownsDatabase;
        _lease = options.DeliveryLease;
        _pollInterval = options.PollInterval;
        var n = database.Names;
        var m = n.Messages;

        // A start time in the past counts as now, so that such a message lines up behind those published
        // before it instead of jumping ahead of them. Only ready messages are announced: a delayed one would
        // wake receivers for nothing. NOTIFY payloads stop at 8000 bytes; longer queue names are left to polls.
        _publishSql = $"""
            WITH stored AS (
                INSERT INTO {m} (queue, id, body, not_before)
                SELECT q, i, b, greatest(now(), coalesce(t, now()))
                FROM unnest($1::text[], $2::text[], $3::bytea[], $4::timestamptz[]) WITH ORDINALITY AS u(q, i, b, t, o)
                ORDER BY o
                RETURNING queue, not_before
            )
            SELECT pg_notify($5, d.queue) FROM (SELECT DISTINCT queue FROM stored WHERE not_before <= now() AND octet_length(queue) < 8000) d
            """;

        // The order of RETURNING is not the order of the claim, so the rows are sorted by when they were due.
        _claimSql = $"""
            WITH due AS (
                SELECT seq, not_before FROM {m}
                WHERE queue = $1 AND not_before <= now()
                ORDER BY not_before, seq
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE {m} AS m SET not_before = now() + $3::interval, lease_token = gen_random_uuid(), delivery_count = m.delivery_count + 1
                FROM due WHERE m.seq = due.seq
                RETURNING m.seq, m.id, m.body, m.delivery_count, m.lease_token, due.not_before AS was_due
            )
            SELECT seq, id, body, delivery_count, lease_token FROM claimed ORDER BY was_due, seq
            """;

        // Every settle matches the delivery's own lease, and only while it lasts.
        _ackSql = $"DELETE FROM {m} WHERE seq = $1 AND lease_token = $2 AND not_before > now()";

        // In place, in one statement: the original and its replacement are never both lost nor both kept.
        _requeueSql = $"""
            WITH replaced AS (
                UPDATE {m} SET queue = $3, id = $4, body = $5, not_before = greatest(now(), coalesce($6, now())), lease_token = NULL, delivery_count = 0
                WHERE seq = $1 AND lease_token = $2 AND not_before > now()
                RETURNING queue, not_before
            )
            SELECT pg_notify($7, queue) FROM replaced WHERE not_before <= now() AND octet_length(queue) < 8000
            """;

        _deadLetterSql = $"""
            WITH moved AS (
                DELETE FROM {m} WHERE seq = $1 AND lease_token = $2 AND not_before > now()
                RETURNING queue, id, body, delivery_count
            )
            INSERT INTO {n.DeadLetters} (queue, id, body, reason, dead_lettered_at, delivery_count)
            SELECT queue, id, body, $3, now(), delivery_count FROM moved
            """;

        _renewSql = $"""
            UPDATE {m} SET not_before = greatest(not_before, now() + $3::interval)
            WHERE seq = $1 AND lease_token = $2 AND not_before > now()
            """;

        _countsSql = $"""
            SELECT count(*) FILTER (WHERE not_before <= now()),
                   count(*) FILTER (WHERE not_before > now() AND lease_token IS NULL),
                   count(*) FILTER (WHERE not_before > now() AND lease_token IS NOT NULL),
                   (SELECT count(*) FROM {n.DeadLetters} WHERE queue = $1)
            FROM {m} WHERE queue = $1
            """;

        _deadLettersSql = $"SELECT id, body, reason, dead_lettered_at FROM {n.DeadLetters} WHERE queue = $1 ORDER BY seq LIMIT $2";
    }

    /// <inheritdoc />
    public TimeSpan? DeliveryLease => _lease;

    /// <inheritdoc />
    /// <remarks>Stores all messages in one statement or, when one of them is invalid, none.</remarks>
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

        var queues = new string[messages.Count];
        var ids = new string[messages.Count];
        var bodies = new byte[messages.Count][];
        var times = new DateTime?[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            queues[i] = messages[i].Queue;
            ids[i] = messages[i].Id;
            bodies[i] = NpgsqlCommandExtensions.AsArray(messages[i].Body);
            times[i] = messages[i].NotBefore?.UtcDateTime;
        }

        await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_publishSql, connection)
                    .With(queues)
                    .With(ids)
                    .With(bodies);
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = times });
                command.With(_database.Names.Channel);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);

        _database.Signals.Published(messages);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="wait"/> is real time on this machine; <see cref="Timeout.InfiniteTimeSpan"/> waits until
    /// a message comes or the token is cancelled.
    /// </remarks>
    public async ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        BrokerArguments.ValidateWait(wait);

        cancellationToken.ThrowIfCancellationRequested();
        var started = Stopwatch.GetTimestamp();
        var nap = FirstNap < _pollInterval ? FirstNap : _pollInterval;
        if (wait != TimeSpan.Zero)
        {
            _database.StartListening();
        }

        while (true)
        {
            // Taken before looking, so that a publish landing between the look and the nap still ends the nap.
            var published = _database.Signals.WhenPublished(queue);
            var taken = await ClaimAsync(queue, maxMessages, cancellationToken).ConfigureAwait(false);
            if (taken.Count > 0)
            {
                return taken;
            }

            var left = wait == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : wait - Stopwatch.GetElapsedTime(started);
            if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero)
            {
                return [];
            }

            var woken = await NapAsync(published, left != Timeout.InfiniteTimeSpan && left < nap ? left : nap, cancellationToken).ConfigureAwait(false);
            // Quiet queues are looked at less and less often; a wake-up means traffic, so looks speed up again.
            nap = woken ? FirstNap : TimeSpan.FromTicks(Math.Min(nap.Ticks * 2, _pollInterval.Ticks));
            if (nap > _pollInterval)
            {
                nap = _pollInterval;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_countsSql, connection).With(queue);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                await reader.ReadAsync(ct).ConfigureAwait(false);
                return new QueueCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_deadLettersSql, connection).With(queue).With((long)maxMessages);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                var letters = new List<DeadLetter>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    letters.Add(new DeadLetter(
                        reader.GetString(0),
                        queue,
                        reader.GetFieldValue<byte[]>(1),
                        reader.GetString(2),
                        reader.GetFieldValue<DateTimeOffset>(3)));
                }

                return (IReadOnlyList<DeadLetter>)letters;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connection pool if this broker created it.</summary>
    public void Dispose()
    {
        if (_ownsDatabase)
        {
            _database.Dispose();
        }
    }

    /// <summary>Closes the connection pool if this broker created it.</summary>
    public ValueTask DisposeAsync() => _ownsDatabase ? _database.DisposeAsync() : ValueTask.CompletedTask;

    internal Task AckAsync(long seq, Guid token, CancellationToken cancellationToken) =>
        _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_ackSql, connection).With(seq).With(token);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);

    internal async Task RequeueAsync(long seq, Guid token, OutgoingMessage replacement, CancellationToken cancellationToken)
    {
        // Checked before anything changes, so that a bad replacement cannot cost the original.
        BrokerArguments.ValidateMessage(replacement, nameof(replacement));
        await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_requeueSql, connection)
                    .With(seq)
                    .With(token)
                    .With(replacement.Queue)
                    .With(replacement.Id)
                    .With(NpgsqlCommandExtensions.AsArray(replacement.Body))
                    .WithTime(replacement.NotBefore)
                    .With(_database.Names.Channel);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        _database.Signals.Published(replacement.Queue);
    }

    internal Task DeadLetterAsync(long seq, Guid token, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_deadLetterSql, connection).With(seq).With(token).With(reason);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);
    }

    internal Task<bool> RenewAsync(long seq, Guid token, CancellationToken cancellationToken) =>
        _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_renewSql, connection).With(seq).With(token).With(_lease);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);

    private static PostgresOptions Settings(PostgresOptions? options)
    {
        var settings = (options ?? new PostgresOptions()).Clone();
        settings.Validate(nameof(options));
        return settings;
    }

    private Task<IReadOnlyList<IDelivery>> ClaimAsync(string queue, int maxMessages, CancellationToken cancellationToken) =>
        _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_claimSql, connection).With(queue).With((long)maxMessages).With(_lease);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                var deliveries = new List<IDelivery>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    deliveries.Add(new PostgresDelivery(
                        this,
                        reader.GetInt64(0),
                        reader.GetGuid(4),
                        reader.GetString(1),
                        queue,
                        reader.GetFieldValue<byte[]>(2),
                        reader.GetInt32(3)));
                }

                return (IReadOnlyList<IDelivery>)deliveries;
            },
            cancellationToken);

    /// <summary>Waits for a publish to the queue, the nap's end or the broker's disposal; true when a publish woke it.</summary>
    private async Task<bool> NapAsync(Task published, TimeSpan nap, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _database.Closing);
        try
        {
            var poll = Task.Delay(nap, stop.Token);
            var first = await Task.WhenAny(published, poll).WaitAsync(cancellationToken).ConfigureAwait(false);
            return first == published;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }
}
