using System.Runtime.CompilerServices;
using Solo.Locks;

namespace Solo.Sqlite;

/// <summary>
/// A lock store in a SQLite file that several processes on one machine share. It keeps the promises of
/// <see cref="ILockStore"/>: every operation is one <c>BEGIN IMMEDIATE</c> transaction, release is
/// compare-and-delete, and fencing tokens come from one counter stored in the file, so a key's tokens keep
/// growing across releases, restarts and processes.
/// </summary>
/// <remarks>
/// TTLs are measured on the <see cref="TimeProvider"/>. An expired lock counts as free at once; its row is
/// deleted by the next acquire of its key or by a sweep that a write runs at most every 30 s of the clock,
/// so no process of its own is needed to clean up. When another process keeps the file locked beyond
/// <see cref="SqliteOptions.BusyTimeout"/>, or the file cannot be opened, an operation throws
/// <see cref="BackendUnavailableException"/> and has changed nothing.
/// </remarks>
public sealed class SqliteLockStore : ILockStore, IAsyncDisposable, IDisposable
{
    private const string SelectSql = "SELECT owner, fencing_token, expires_at FROM solo_locks WHERE key = $key";

    private const string NextTokenSql = "UPDATE solo_fencing SET last_token = last_token + 1 WHERE id = 1 RETURNING last_token";

    private const string UpsertSql = """
        INSERT INTO solo_locks (key, owner, fencing_token, expires_at) VALUES ($key, $owner, $token, $expires_at)
        ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, fencing_token = excluded.fencing_token, expires_at = excluded.expires_at
        """;

    private const string RenewSql = "UPDATE solo_locks SET expires_at = $expires_at WHERE key = $key AND owner = $owner AND fencing_token = $token AND expires_at > $now";

    private const string ReleaseLiveSql = "DELETE FROM solo_locks WHERE key = $key AND owner = $owner AND fencing_token = $token AND expires_at > $now";

    // Expired or not: an expired lock of the holder is dead either way.
    private const string ReleaseAnySql = "DELETE FROM solo_locks WHERE key = $key AND owner = $owner AND ($token IS NULL OR fencing_token = $token)";

    private const string GetSql = "SELECT owner, fencing_token, expires_at FROM solo_locks WHERE key = $key AND expires_at > $now";

    // The range start lets the primary key skip what sorts before the prefix.
    private const string ListSql = """
        SELECT key, owner, fencing_token, expires_at FROM solo_locks
        WHERE key >= $prefix AND substr(key, 1, length($prefix)) = $prefix AND expires_at > $now
        """;

    private const string SweepSql = "DELETE FROM solo_locks WHERE expires_at <= $now";

    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly SqliteDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly TimeProvider _time;

    // Read and written only inside the database's operations, which run one at a time.
    private long _nextSweep = long.MinValue;

    /// <summary>Creates a lock store on its own connection to <see cref="SqliteOptions.Path"/>.</summary>
    /// <param name="options">Its settings (the path and busy timeout); read once, here. The file is opened on first use.</param>
    /// <param name="timeProvider">The clock of TTLs.</param>
    public SqliteLockStore(SqliteOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var settings = options.Clone();
        settings.Validate(nameof(options));
        _database = new SqliteDatabase(settings);
        _ownsDatabase = true;
        _time = timeProvider;
    }

    /// <summary>Creates a lock store on a connection it shares (with a broker) and does not dispose.</summary>
    internal SqliteLockStore(SqliteDatabase database, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _database = database;
        _time = timeProvider;
    }

    /// <summary>The full path of the file, for tests.</summary>
    internal string DatabasePath => _database.Path;

    /// <inheritdoc />
    public async ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        ValidateTtl(ttl);
        return await _database.WriteAsync(db => Acquire(db, key, owner, ttl, Now(db)), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>All requests are decided in one transaction, in order.</remarks>
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

        return await _database.WriteAsync(
            db =>
            {
                var now = Now(db);
                var results = new LockResult[requests.Count];
                for (var i = 0; i < results.Length; i++)
                {
                    results[i] = Acquire(db, requests[i].Key, requests[i].Owner, requests[i].Ttl, now);
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
        return await _database.WriteAsync(
            db =>
            {
                var result = Acquire(db, acquireKey, owner, ttl, Now(db));
                if (result.Acquired)
                {
                    db.Command(ReleaseAnySql).Bind("$key", releaseKey).Bind("$owner", owner).Bind("$token", releaseFencingToken).ExecuteNonQuery();
                }

                return result;
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
        return await _database.WriteAsync(
            db =>
            {
                var now = Now(db);
                var held = Read(db, key, now);
                if (held is null)
                {
                    return new LockResult(false, null, 0, default);
                }

                if (!string.Equals(held.Owner, expectedOwner, StringComparison.Ordinal))
                {
                    return new LockResult(false, held.Owner, held.FencingToken, held.ExpiresAt);
                }

                return Take(db, key, newOwner, ttl, now);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        ValidateTtl(ttl);
        return await _database.WriteAsync(
            db =>
            {
                var now = Now(db);
                return db.Command(RenewSql)
                    .Bind("$key", key)
                    .Bind("$owner", owner)
                    .Bind("$token", fencingToken)
                    .Bind("$now", now)
                    .Bind("$expires_at", SqliteCommandExtensions.AddClamped(now, ttl))
                    .ExecuteNonQuery() == 1;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        // Deleted outright: fencing tokens come from the store-wide counter, so no tombstone is needed.
        return await _database.WriteAsync(
            db => db.Command(ReleaseLiveSql).Bind("$key", key).Bind("$owner", owner).Bind("$token", fencingToken).Bind("$now", Now(db)).ExecuteNonQuery() == 1,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        return await _database.ReadAsync(
            db =>
            {
                using var reader = db.Command(GetSql).Bind("$key", key).Bind("$now", _time.GetUtcNow().UtcTicks).ExecuteReader();
                return reader.Read()
                    ? new LockInfo(key, reader.GetString(0), reader.GetInt64(1), SqliteCommandExtensions.ToTime(reader.GetInt64(2)))
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

    /// <summary>Closes the file if this lock store opened it.</summary>
    public void Dispose()
    {
        if (_ownsDatabase)
        {
            _database.Dispose();
        }
    }

    /// <summary>Closes the file if this lock store opened it.</summary>
    public ValueTask DisposeAsync() => _ownsDatabase ? _database.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Rows stored, live or expired and not yet deleted; for tests.</summary>
    internal Task<long> CountRowsAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(db => (long)db.Command("SELECT COUNT(*) FROM solo_locks").ExecuteScalar()!, cancellationToken);

    private static void ValidateKey(string key) => ArgumentException.ThrowIfNullOrEmpty(key);

    private static void ValidateOwner(string owner) => ArgumentException.ThrowIfNullOrEmpty(owner);

    private static void ValidateTtl(TimeSpan ttl) => ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);

    /// <summary>The live lock of a key, or null.</summary>
    private static LockInfo? Read(SqliteDatabase db, string key, long now)
    {
        using var reader = db.Command(SelectSql).Bind("$key", key).ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var expiresAt = reader.GetInt64(2);
        return expiresAt > now ? new LockInfo(key, reader.GetString(0), reader.GetInt64(1), SqliteCommandExtensions.ToTime(expiresAt)) : null;
    }

    /// <summary>Takes the key when free, expired or held by <paramref name="owner"/>; else reports the holder.</summary>
    private static LockResult Acquire(SqliteDatabase db, string key, string owner, TimeSpan ttl, long now)
    {
        var held = Read(db, key, now);
        if (held is not null && !string.Equals(held.Owner, owner, StringComparison.Ordinal))
        {
            return new LockResult(false, held.Owner, held.FencingToken, held.ExpiresAt);
        }

        // An expired row of the key is overwritten here: that is its lazy deletion.
        return Take(db, key, owner, ttl, now);
    }

    private static LockResult Take(SqliteDatabase db, string key, string owner, TimeSpan ttl, long now)
    {
        // In the same transaction as the write, so a token is never handed out twice, in any process.
        var token = (long)db.Command(NextTokenSql).ExecuteScalar()!;
        var expiresAt = SqliteCommandExtensions.AddClamped(now, ttl);
        db.Command(UpsertSql)
            .Bind("$key", key)
            .Bind("$owner", owner)
            .Bind("$token", token)
            .Bind("$expires_at", expiresAt)
            .ExecuteNonQuery();
        return new LockResult(true, owner, token, SqliteCommandExtensions.ToTime(expiresAt));
    }

    /// <summary>The current time, after deleting expired rows when a sweep is due. Call inside a write.</summary>
    private long Now(SqliteDatabase db)
    {
        var now = _time.GetUtcNow().UtcTicks;
        if (now >= _nextSweep)
        {
            db.Command(SweepSql).Bind("$now", now).ExecuteNonQuery();
            _nextSweep = SqliteCommandExtensions.AddClamped(now, SweepInterval);
        }

        return now;
    }

    private async IAsyncEnumerable<LockInfo> ListCoreAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var live = await _database.ReadAsync(
            db =>
            {
                var locks = new List<LockInfo>();
                using var reader = db.Command(ListSql).Bind("$prefix", prefix).Bind("$now", _time.GetUtcNow().UtcTicks).ExecuteReader();
                while (reader.Read())
                {
                    locks.Add(new LockInfo(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), SqliteCommandExtensions.ToTime(reader.GetInt64(3))));
                }

                return locks;
            },
            cancellationToken).ConfigureAwait(false);

        // SQLite orders text by its UTF-8 bytes; sorted here so the order is .NET's ordinal one.
        live.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var info in live)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }
}
