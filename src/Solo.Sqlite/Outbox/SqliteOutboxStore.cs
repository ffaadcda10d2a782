using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Solo.Outbox;

namespace Solo.Sqlite;

/// <summary>
/// The transactional outbox in the app's own SQLite file: enqueues made in the app's transaction become rows
/// of <c>solo_outbox</c> in that transaction. Relays (one per app process, any number of processes on the
/// file) claim rows with a lease, publish them and delete them; a relay that dies mid-batch leaves its claim
/// to expire, and another relay publishes the rows again (at least once).
/// </summary>
/// <remarks>
/// The table is created by the first write or claim (<c>CREATE TABLE IF NOT EXISTS</c>, inside the app's
/// transaction for a write, so a rolled-back first write leaves no half-made schema), and its version is
/// kept in <c>solo_schema</c>, a table of Solo's own, never in the app's <c>user_version</c>.
/// </remarks>
internal sealed class SqliteOutboxStore : IOutboxStore, IAsyncDisposable
{
    private const int SchemaVersion = 1;

    private const string CreateSchema = """
        CREATE TABLE IF NOT EXISTS solo_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id TEXT NOT NULL,
            task TEXT NOT NULL,
            queue TEXT NOT NULL,
            args TEXT NOT NULL,
            unique_key TEXT NULL,
            not_before INTEGER NULL,
            enqueued_at INTEGER NOT NULL,
            claim TEXT NULL,
            claimed_until INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS solo_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
        INSERT OR IGNORE INTO solo_schema (component, version) VALUES ('outbox', 1);
        """;

    private const string Insert = """
        INSERT INTO solo_outbox (task_id, task, queue, args, unique_key, not_before, enqueued_at)
        VALUES ($taskId, $task, $queue, $args, $uniqueKey, $notBefore, $enqueuedAt)
        """;

    // Files whose schema a relay has seen, so later writes skip the CREATE statements.
    private static readonly ConcurrentDictionary<string, byte> Created = new(StringComparer.Ordinal);

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly TimeSpan _claimLease;

    /// <summary>An outbox in the SQLite file at <paramref name="path"/>.</summary>
    /// <param name="path">The app's database file, on which the app's transactions run.</param>
    /// <param name="time">The clock of claim leases.</param>
    /// <param name="claimLease">How long a claimed batch is kept from other relays; a relay that dies holds it this long.</param>
    public SqliteOutboxStore(string path, TimeProvider time, TimeSpan claimLease)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(claimLease, TimeSpan.Zero);
        _database = new SqliteDatabase(new SqliteOptions { Path = path });
        _time = time;
        _claimLease = claimLease;
    }

    /// <summary>The full path of the outbox's file.</summary>
    public string Path => _database.Path;

    public async ValueTask WriteAsync(DbTransaction transaction, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(messages);
        if (transaction is not SqliteTransaction { Connection: { } connection } sqlite)
        {
            throw new ArgumentException(
                transaction.Connection is null
                    ? "The transaction has already ended; enqueue before committing it."
                    : $"The SQLite outbox needs a SqliteTransaction on {Path}; this transaction is a {transaction.GetType().Name}.",
                nameof(transaction));
        }

        if (!string.Equals(System.IO.Path.GetFullPath(connection.DataSource), Path, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"The transaction is on the SQLite file '{connection.DataSource}', but the outbox is in '{Path}': enqueue in a transaction on the outbox's file, or point UseSqliteOutbox at the app's file.",
                nameof(transaction));
        }

        if (!Created.ContainsKey(Path))
        {
            using var create = connection.CreateCommand();
            create.Transaction = sqlite;
            create.CommandText = CreateSchema;
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using var insert = connection.CreateCommand();
        insert.Transaction = sqlite;
        insert.CommandText = Insert;
        foreach (var message in messages)
        {
            insert.Bind("$taskId", message.TaskId)
                .Bind("$task", message.Task)
                .Bind("$queue", message.Queue)
                .Bind("$args", message.Args)
                .Bind("$uniqueKey", message.UniqueKey)
                .Bind("$notBefore", message.NotBefore?.UtcTicks)
                .Bind("$enqueuedAt", message.EnqueuedAt.UtcTicks);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<IOutboxBatch> ClaimAsync(int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var claim = Guid.NewGuid().ToString("N");
        var now = _time.GetUtcNow().UtcTicks;
        var messages = await _database.WriteAsync(
            db =>
            {
                var command = db.Command("""
                    UPDATE solo_outbox SET claim = $claim, claimed_until = $until
                    WHERE id IN (SELECT id FROM solo_outbox WHERE claimed_until <= $now ORDER BY id LIMIT $max)
                    RETURNING id, task_id, task, queue, args, unique_key, not_before, enqueued_at
                    """)
                    .Bind("$claim", claim)
                    .Bind("$until", SqliteCommandExtensions.AddClamped(now, _claimLease))
                    .Bind("$now", now)
                    .Bind("$max", maxMessages);
                var rows = new List<(long Id, OutboxMessage Message)>();
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add((reader.GetInt64(0), new OutboxMessage(
                        reader.GetString(1),
                        reader.GetString(2),
                        reader.GetString(3),
                        reader.GetString(4),
                        reader.IsDBNull(5) ? null : reader.GetString(5),
                        reader.IsDBNull(6) ? null : SqliteCommandExtensions.ToTime(reader.GetInt64(6)),
                        SqliteCommandExtensions.ToTime(reader.GetInt64(7)))));
                }

                // RETURNING gives no order; the relay publishes oldest first.
                rows.Sort((a, b) => a.Id.CompareTo(b.Id));
                return rows.Select(r => r.Message).ToArray();
            },
            cancellationToken).ConfigureAwait(false);
        return new Batch(this, claim, messages);
    }

    public async ValueTask WaitForMessagesAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await Task.Delay(timeout, _time, cancellationToken).ConfigureAwait(false);

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return await _database.ReadAsync(db => (long)db.Command("SELECT count(*) FROM solo_outbox").ExecuteScalar()!, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _database.DisposeAsync();

    private async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (Created.ContainsKey(Path))
        {
            return;
        }

        var version = await _database.WriteAsync(
            db =>
            {
                db.Command(CreateSchema).ExecuteNonQuery();
                return (long)db.Command("SELECT version FROM solo_schema WHERE component = 'outbox'").ExecuteScalar()!;
            },
            cancellationToken).ConfigureAwait(false);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException($"The outbox in {Path} has schema version {version}, newer than this Solo.Sqlite knows ({SchemaVersion}); upgrade Solo.Sqlite.");
        }

        Created.TryAdd(Path, 0);
    }

    private sealed class Batch(SqliteOutboxStore store, string claim, IReadOnlyList<OutboxMessage> messages) : IOutboxBatch
    {
        private bool _settled = messages.Count == 0;

        public IReadOnlyList<OutboxMessage> Messages => messages;

        public async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            await store._database.WriteAsync(db => db.Command("DELETE FROM solo_outbox WHERE claim = $claim").Bind("$claim", claim).ExecuteNonQuery(), cancellationToken).ConfigureAwait(false);
            _settled = true;
        }

        public async ValueTask DisposeAsync()
        {
            if (_settled)
            {
                return;
            }

            _settled = true;
            try
            {
                await store._database.WriteAsync(
                    db => db.Command("UPDATE solo_outbox SET claim = NULL, claimed_until = 0 WHERE claim = $claim").Bind("$claim", claim).ExecuteNonQuery(),
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (BackendUnavailableException)
            {
                // The claim expires by itself.
            }
        }
    }
}
