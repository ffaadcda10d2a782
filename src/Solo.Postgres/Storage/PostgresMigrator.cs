using Npgsql;

namespace Solo.Postgres.Storage;

/// <summary>
/// Brings a database's Solo schema up to date: applies, in order, the migrations whose version
/// <c>schema_migrations</c> does not list, in one transaction under an advisory lock, so that processes
/// starting together neither race nor apply a step twice.
/// </summary>
/// <remarks>
/// Versions the list does not know (applied by a newer Solo.Postgres) are left alone: migrations only add,
/// so an older process still finds the tables it uses.
/// </remarks>
internal static class PostgresMigrator
{
    // One key for every Solo schema of the database: migrations are rare, and one key also serializes two
    // installations that create the same schema at once.
    private const long AdvisoryLockKey = 0x536F_6C6F_4D69_6772; // "SoloMigr"

    /// <summary>Applies the missing migrations of <paramref name="migrations"/>; returns the versions it applied.</summary>
    public static async Task<IReadOnlyList<int>> MigrateAsync(
        NpgsqlConnection connection, PostgresNames names, IReadOnlyList<PostgresMigration> migrations, CancellationToken cancellationToken)
    {
        // Without the lock first: every process but the first of a database finds nothing to do.
        var applied = await AppliedAsync(connection, names, cancellationToken).ConfigureAwait(false);
        if (migrations.All(m => applied.Contains(m.Version)))
        {
            return [];
        }

        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken).ConfigureAwait(false);

        // Only when missing: CREATE SCHEMA IF NOT EXISTS still needs the right to create schemas.
        using (var exists = new NpgsqlCommand("SELECT to_regnamespace($1) IS NOT NULL", connection))
        {
            exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = names.QuotedSchema });
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                await ExecuteAsync(connection, $"CREATE SCHEMA IF NOT EXISTS {names.QuotedSchema}", cancellationToken).ConfigureAwait(false);
            }
        }

        await ExecuteAsync(
            connection,
            $"CREATE TABLE IF NOT EXISTS {names.Migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            cancellationToken).ConfigureAwait(false);

        // Read again under the lock: another process may have migrated while this one waited.
        applied = await AppliedAsync(connection, names, cancellationToken).ConfigureAwait(false);
        var done = new List<int>();
        foreach (var migration in migrations.OrderBy(m => m.Version))
        {
            if (applied.Contains(migration.Version))
            {
                continue;
            }

            await ExecuteAsync(connection, migration.Sql(names), cancellationToken).ConfigureAwait(false);
            using (var record = new NpgsqlCommand($"INSERT INTO {names.Migrations} (version) VALUES ($1)", connection))
            {
                record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            done.Add(migration.Version);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return done;
    }

    /// <summary>The versions recorded in the database; none when its migrations table does not exist yet.</summary>
    public static async Task<HashSet<int>> AppliedAsync(NpgsqlConnection connection, PostgresNames names, CancellationToken cancellationToken)
    {
        var versions = new HashSet<int>();
        using (var exists = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection))
        {
            exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = names.Migrations });
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return versions;
            }
        }

        using var select = new NpgsqlCommand($"SELECT version FROM {names.Migrations}", connection);
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
