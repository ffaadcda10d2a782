using System.Diagnostics;
using System.Runtime.CompilerServices;
using Npgsql;
using Solo.Locks;
using Solo.Postgres.Storage;

namespace Solo.Postgres;

/// <summary>
/// A lock store in PostgreSQL that any number of processes on any number of machines share. It keeps the
/// promises of <see cref="ILockStore"/>: every operation is one statement or one transaction sent in one
/// round trip (<see cref="TryAcquireManyAsync"/> included), release is compare-and-delete,
/// and fencing tokens come from one sequence, so a key's tokens keep growing across releases, expiries,
/// processes and server restarts.
/// </summary>
/// <remarks>
/// TTLs are measured on the database server's clock, so the machines need not agree on the time. An expired
/// lock counts as free at once; its row is overwritten by the next acquire of its key or deleted by a sweep
/// that a write of this store runs at most every 30 s, so no cleanup process is needed. While the server
/// cannot be reached, every operation throws <see cref="BackendUnavailableException"/>; connections come
/// from a pool, so the store works again by itself once the server is back.
/// </remarks>
public sealed class PostgresLockStore : ILockStore, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly PostgresDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly string _claimSql;
    private readonly string _tokenSql;
    private readonly string _tokenAndReleaseSql;
    private readonly string _replaceOwnerSql;
    private readonly string _renewSql;
    private readonly string _releaseSql;
    private readonly string _getSql;
    private readonly string _listSql;
    private readonly string _sweepSql;
    private long _nextSweep = long.MinValue;

    /// <summary>Creates a lock store with a connection pool of its own.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="options">Its settings (the schema and table prefix); read once, here. Nothing connects before the first operation.</param>
    public PostgresLockStore(string connectionString, PostgresOptions? options = null)
        : this(PostgresDatabase.Create(connectionString, Settings(options)), ownsDatabase: true)
    {
    }

    /// <summary>Creates a lock store on the app's data source, which it does not dispose.</summary>
    /// <param name="dataSource">Where its connections come from.</param>
    /// <param name="options">Its settings (the schema and table prefix); read once, here.</param>
    public PostgresLockStore(NpgsqlDataSource dataSource, PostgresOptions? options = null)
        : this(new PostgresDatabase(dataSource, ownsDataSource: false, Settings(options)), ownsDatabase: true)
    {
    }

    /// <summary>Creates a lock store on a database object it shares (with a broker) and does not dispose.</summary>
    internal PostgresLockStore(PostgresDatabase database)
        : this(database, ownsDatabase: false)
    {
    }

    private PostgresLockStore(PostgresDatabase database, bool ownsDatabase)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _ownsDatabase = ownsDatabase;
        var locks = database.Names.Locks;

        // An acquire is two statements in one transaction (one round trip). The first takes the row: it
        // inserts it, or, on a conflict, writes it even when the holder keeps it, so that the row stays locked
        // to the end of the transaction and the holder returned is the one of that moment, never a snapshot's.
        // The second draws the token, under that row lock: a token drawn before the lock was held could be
        // smaller than that of a holder who committed in between. $2 holds the key after the first statement
        // exactly when the caller acquired it (a live lock of its own is taken again, with a new token).
        _claimSql = $"""
            INSERT INTO {locks} AS l (key, owner, fencing_token, expires_at) VALUES ($1, $2, 0, now() + $3::interval)
            ON CONFLICT (key) DO UPDATE SET
                owner = CASE WHEN l.owner = excluded.owner OR l.expires_at <= now() THEN excluded.owner ELSE l.owner END,
                expires_at = CASE WHEN l.owner = excluded.owner OR l.expires_at <= now() THEN excluded.expires_at ELSE l.expires_at END
            """;

        _tokenSql = $"""
            WITH taken AS (
                UPDATE {locks} SET fencing_token = nextval('{database.Names.FencingTokens}') WHERE key = $1 AND owner = $2
                RETURNING owner, fencing_token, expires_at
            )
            SELECT owner, fencing_token, expires_at FROM taken
            UNION ALL
            SELECT owner, fencing_token, expires_at FROM {locks} WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM taken)
            """;

        // The release depends on the token's update, so it happens only when the caller took the other key.
        // Expired or not: an expired lock of the holder is dead either way.
        _tokenAndReleaseSql = $"""
            WITH taken AS (
                UPDATE {locks} SET fencing_token = nextval('{database.Names.FencingTokens}') WHERE key = $1 AND owner = $2
                RETURNING owner, fencing_token, expires_at
            ),
            released AS (
                DELETE FROM {locks} WHERE key = $3 AND owner = $2 AND ($4::bigint IS NULL OR fencing_token = $4) AND EXISTS (SELECT 1 FROM taken)
            )
            SELECT owner, fencing_token, expires_at FROM taken
            UNION ALL
            SELECT owner, fencing_token, expires_at FROM {locks} WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM taken)
            """;

        // FOR UPDATE reads the latest committed row (and waits for a writer), so a refusal names the holder of
        // that moment.
        _replaceOwnerSql = $"""
            WITH replaced AS (
                UPDATE {locks} SET owner = $3, fencing_token = nextval('{database.Names.FencingTokens}'), expires_at = now() + $4::interval
                WHERE key = $1 AND owner = $2 AND expires_at > now()
                RETURNING owner, fencing_token, expires_at
            ),
            held AS (
                SELECT owner, fencing_token, expires_at FROM {locks} WHERE key = $1 AND expires_at > now() FOR UPDATE
            )
            SELECT true, owner, fencing_token, expires_at FROM replaced
            UNION ALL
            SELECT false, owner, fencing_token, expires_at FROM held WHERE NOT EXISTS (SELECT 1 FROM replaced)
            """;

        _renewSql = $"UPDATE {locks} SET expires_at = now() + $3::interval WHERE key = $1 AND owner = $2 AND fencing_token = $4 AND expires_at > now()";

        // Deleted outright: fencing tokens come from the sequence, so no tombstone is needed.
        _releaseSql = $"DELETE FROM {locks} WHERE key = $1 AND owner = $2 AND fencing_token = $3 AND expires_at > now()";

        _getSql = $"SELECT owner, fencing_token, expires_at FROM {locks} WHERE key = $1 AND expires_at > now()";

        // The range start lets the primary key skip what sorts before the prefix.
        _listSql = $"SELECT key, owner, fencing_token, expires_at FROM {locks} WHERE key >= $1 AND starts_with(key, $1) AND expires_at > now()";

        // SKIP LOCKED: a sweep never waits for, nor deadlocks with, an operation on a key it would delete.
        _sweepSql = $"""
            DELETE FROM {locks} WHERE key IN (
                SELECT key FROM {locks} WHERE expires_at <= now() ORDER BY expires_at LIMIT 10000 FOR UPDATE SKIP LOCKED)
            """;
    }

    /// <inheritdoc />
    public async ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        ValidateTtl(ttl);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                await SweepIfDueAsync(connection, ct).ConfigureAwait(false);
                using var batch = new NpgsqlBatch(connection);
                AddAcquire(batch, key, owner, ttl);
                var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                return await ReadResultAsync(reader, owner, ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// All requests are decided in one transaction, sent in one round trip. The keys are taken in ordinal
    /// order, whatever the order of the requests, so that two such calls never deadlock.
    /// </remarks>
    public async ValueTask<IReadOnlyList<LockResult>> TryAcquireManyAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        foreach (var request in requests)
        {
            ArgumentNullException.ThrowIfNull(request, nameof(requests));
            ValidateKey(request.Key);
            ValidateOwner(request.Owner);
            ValidateTtl(request.Ttl);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (requests.Count == 0)
        {
            return [];
        }

        // Stable, so that requests for one key keep their order.
        var order = Enumerable.Range(0, requests.Count).OrderBy(i => requests[i].Key, StringComparer.Ordinal).ToArray();
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                await SweepIfDueAsync(connection, ct).ConfigureAwait(false);
                using var batch = new NpgsqlBatch(connection);
                foreach (var i in order)
                {
                    AddAcquire(batch, requests[i].Key, requests[i].Owner, requests[i].Ttl);
                }

                var results = new LockResult[requests.Count];
                var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                foreach (var i in order)
                {
                    results[i] = await ReadResultAsync(reader, requests[i].Owner, ct).ConfigureAwait(false);
                }

                return (IReadOnlyList<LockResult>)results;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Both keys are the same: the call would take and drop one lock.</exception>
    public async ValueTask<LockResult> TryAcquireAndReleaseAsync(string acquireKey, string releaseKey, string owner, long? releaseFencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(acquireKey);
        ValidateKey(releaseKey);
        if (string.Equals(acquireKey, releaseKey, StringComparison.Ordinal))
        {
            throw new ArgumentException("The key to acquire and the key to release must differ.", nameof(releaseKey));
        }

        ValidateOwner(owner);
        ValidateTtl(ttl);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                await SweepIfDueAsync(connection, ct).ConfigureAwait(false);
                using var batch = new NpgsqlBatch(connection);
                batch.BatchCommands.Add(new NpgsqlBatchCommand(_claimSql).With(acquireKey).With(owner).With(ttl));
                batch.BatchCommands.Add(new NpgsqlBatchCommand(_tokenAndReleaseSql).With(acquireKey).With(owner).With(releaseKey).WithBigint(releaseFencingToken));
                var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                return await ReadResultAsync(reader, owner, ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<LockResult> ReplaceOwnerAsync(string key, string expectedOwner, string newOwner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(expectedOwner);
        ValidateOwner(newOwner);
        ValidateTtl(ttl);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_replaceOwnerSql, connection).With(key).With(expectedOwner).With(newOwner).With(ttl);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    return new LockResult(false, null, 0, default);
                }

                return new LockResult(reader.GetBoolean(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3));
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        ValidateTtl(ttl);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_renewSql, connection).With(key).With(owner).With(ttl).With(fencingToken);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                await SweepIfDueAsync(connection, ct).ConfigureAwait(false);
                using var command = new NpgsqlCommand(_releaseSql, connection).With(key).With(owner).With(fencingToken);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        return await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_getSql, connection).With(key);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false)
                    ? new LockInfo(key, reader.GetString(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2))
                    : null;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>The locks are read when enumeration starts and come in ordinal order of their keys.</remarks>
    public IAsyncEnumerable<LockInfo> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return ListCoreAsync(prefix, cancellationToken);
    }

    /// <summary>Closes the connection pool if this lock store created it.</summary>
    public void Dispose()
    {
        if (_ownsDatabase)
        {
            _database.Dispose();
        }
    }

    /// <summary>Closes the connection pool if this lock store created it.</summary>
    public ValueTask DisposeAsync() => _ownsDatabase ? _database.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Rows stored, live or expired and not yet deleted; for tests.</summary>
    internal Task<long> CountRowsAsync(CancellationToken cancellationToken) =>
        _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand($"SELECT count(*) FROM {_database.Names.Locks}", connection);
                return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            },
            cancellationToken);

    /// <summary>Deletes the expired rows now; for tests.</summary>
    internal Task SweepAsync(CancellationToken cancellationToken) =>
        _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_sweepSql, connection);
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);

    private static PostgresOptions Settings(PostgresOptions? options)
    {
        var settings = (options ?? new PostgresOptions()).Clone();
        settings.Validate(nameof(options));
        return settings;
    }

    private static void ValidateKey(string key) => ArgumentException.ThrowIfNullOrEmpty(key);

    private static void ValidateOwner(string owner) => ArgumentException.ThrowIfNullOrEmpty(owner);

    private static void ValidateTtl(TimeSpan ttl) => ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);

    /// <summary>Reads the next acquire's result: the row of its second statement (the first returns none).</summary>
    private static async Task<LockResult> ReadResultAsync(NpgsqlDataReader reader, string caller, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("An acquire returned no row.");
        }

        var owner = reader.GetString(0);
        var result = new LockResult(string.Equals(owner, caller, StringComparison.Ordinal), owner, reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2));
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private void AddAcquire(NpgsqlBatch batch, string key, string owner, TimeSpan ttl)
    {
        batch.BatchCommands.Add(new NpgsqlBatchCommand(_claimSql).With(key).With(owner).With(ttl));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(_tokenSql).With(key).With(owner));
    }

    /// <summary>Deletes expired rows, in a statement of its own, when this store's last sweep is old enough.</summary>
    private async Task SweepIfDueAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        var due = Interlocked.Read(ref _nextSweep);
        // One caller of many wins the sweep; the others go on at once.
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + (long)(SweepInterval.TotalSeconds * Stopwatch.Frequency), due) != due)
        {
            return;
        }

        using var command = new NpgsqlCommand(_sweepSql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async IAsyncEnumerable<LockInfo> ListCoreAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var live = await _database.RunAsync(
            async (connection, ct) =>
            {
                using var command = new NpgsqlCommand(_listSql, connection).With(prefix);
                var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                var locks = new List<LockInfo>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    locks.Add(new LockInfo(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3)));
                }

                return locks;
            },
            cancellationToken).ConfigureAwait(false);

        // The column sorts by UTF-8 bytes; sorted here so the order is .NET's ordinal one.
        live.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var info in live)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }
}
