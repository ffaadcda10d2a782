using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Solo.Outbox;
using Solo.Postgres.Storage;

namespace Solo.Postgres;

/// <summary>
/// The transactional outbox in the app's PostgreSQL database: enqueues made in the app's transaction are
/// rows of <c>solo_outbox</c> written in that transaction, with a <c>NOTIFY</c> that PostgreSQL delivers only
/// when it commits, so relays in every process wake at once. A relay claims a batch with
/// <c>FOR UPDATE SKIP LOCKED</c> inside a transaction it holds until the batch is published and deleted:
/// two relays never hold one row, and a relay that dies gives its rows back the moment its connection closes.
/// </summary>
internal sealed class PostgresOutboxStore : IOutboxStore, IAsyncDisposable
{
    private readonly PostgresDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly NpgsqlConnectionStringBuilder _target;
    private readonly string _insert;
    private readonly string _claim;
    private readonly string _delete;
    private readonly string _count;

    public PostgresOutboxStore(PostgresDatabase database, bool ownsDatabase)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _ownsDatabase = ownsDatabase;
        _target = new NpgsqlConnectionStringBuilder(database.DataSource.ConnectionString);
        var n = database.Names;
        _insert = $"""
            WITH written AS (
                INSERT INTO {n.Outbox} (task_id, task, queue, args, unique_key, not_before, enqueued_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[]))
            SELECT pg_notify($8, '')
            """;
        _claim = $"SELECT id, task_id, task, queue, args, unique_key, not_before, enqueued_at FROM {n.Outbox} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED";
        _delete = $"DELETE FROM {n.Outbox} WHERE id = ANY($1)";
        _count = $"SELECT count(*) FROM {n.Outbox}";
    }

    public async ValueTask WriteAsync(DbTransaction transaction, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(messages);
        if (transaction is not NpgsqlTransaction { Connection: { } connection } npgsql)
        {
            throw new ArgumentException(
                transaction.Connection is null
                    ? "The transaction has already ended; enqueue before committing it."
                    : $"The PostgreSQL outbox needs an NpgsqlTransaction on {_database.ServerName}; this transaction is a {transaction.GetType().Name}.",
                nameof(transaction));
        }

        if (!SameDatabase(connection))
        {
            throw new ArgumentException(
                $"The transaction is on PostgreSQL {connection.Host}:{connection.Port}/{connection.Database}, but the outbox is in {_database.ServerName}: enqueue in a transaction on the outbox's database, or point UsePostgresOutbox at the app's database.",
                nameof(transaction));
        }

        // On a connection of Solo's own, never the app's: the schema must exist before the app's transaction writes.
        await _database.EnsureMigratedAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand(_insert, connection, npgsql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(Texts(messages.Select(m => m.TaskId)));
            command.Parameters.Add(Texts(messages.Select(m => m.Task)));
            command.Parameters.Add(Texts(messages.Select(m => m.Queue)));
            command.Parameters.Add(Texts(messages.Select(m => m.Args)));
            command.Parameters.Add(Texts(messages.Select(m => m.UniqueKey)));
            command.Parameters.Add(Times(messages.Select(m => m.NotBefore)));
            command.Parameters.Add(Times(messages.Select(m => (DateTimeOffset?)m.EnqueuedAt)));
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _database.Names.OutboxChannel });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<IOutboxBatch> ClaimAsync(int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        NpgsqlConnection? connection = null;
        try
        {
            await _database.EnsureMigratedAsync(cancellationToken).ConfigureAwait(false);
            connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var ids = new List<long>();
            var messages = new List<OutboxMessage>();
            var claim = new NpgsqlCommand(_claim, connection, transaction);
            await using (claim.ConfigureAwait(false))
            {
                claim.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxMessages });
                var reader = await claim.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        ids.Add(reader.GetInt64(0));
                        messages.Add(new OutboxMessage(
                            reader.GetString(1),
                            reader.GetString(2),
                            reader.GetString(3),
                            reader.GetString(4),
                            reader.IsDBNull(5) ? null : reader.GetString(5),
                            reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                            reader.GetFieldValue<DateTimeOffset>(7)));
                    }
                }
            }

            var batch = new Batch(this, connection, transaction, ids, messages);
            connection = null;
            return batch;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.IsUnavailable(ex))
        {
            throw new BackendUnavailableException(_database.ServerName, ex.Message, ex);
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public async ValueTask WaitForMessagesAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The database's one listening connection (shared with the broker's wake-ups) hears the commits.
        _database.StartListening();
        await _database.OutboxCommitted.WaitAsync(timeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken) =>
        await _database.RunAsync(
            async (connection, ct) =>
            {
                var count = new NpgsqlCommand(_count, connection);
                await using (count.ConfigureAwait(false))
                {
                    return (long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                }
            },
            cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync() => _ownsDatabase ? _database.DisposeAsync() : ValueTask.CompletedTask;

    private static NpgsqlParameter Texts(IEnumerable<string?> values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = values.Select(v => (object?)v ?? DBNull.Value).ToArray() };

    private static NpgsqlParameter Times(IEnumerable<DateTimeOffset?> values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = values.Select(v => v is { } t ? (object)t.ToUniversalTime() : DBNull.Value).ToArray() };

    private bool SameDatabase(NpgsqlConnection connection) =>
        string.Equals(connection.Host, _target.Host, StringComparison.OrdinalIgnoreCase)
        && connection.Port == _target.Port
        && string.Equals(connection.Database, _target.Database ?? _target.Username, StringComparison.Ordinal);

    internal sealed class Batch(PostgresOutboxStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, List<long> ids, IReadOnlyList<OutboxMessage> messages) : IOutboxBatch
    {
        public IReadOnlyList<OutboxMessage> Messages => messages;

        /// <summary>The server process holding the batch's row locks (tests end it to play a relay that died).</summary>
        internal int ProcessId => connection.ProcessID;

        public async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            try
            {
                var delete = new NpgsqlCommand(store._delete, connection, transaction);
                await using (delete.ConfigureAwait(false))
                {
                    delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ids] });
                    await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.IsUnavailable(ex))
            {
                throw new BackendUnavailableException(store._database.ServerName, ex.Message, ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Closing the connection rolls back whatever was not committed: the rows are free again.
            await transaction.DisposeAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
