using Npgsql;
using Solo.Postgres.Storage;
using Solo.Postgres.Tests.Support;

namespace Solo.Postgres.Tests.Storage;

/// <summary>Solo creates and migrates its schema itself, once, also when several processes start together.</summary>
public sealed class PostgresMigratorTests
{
    private static readonly PostgresNames DefaultNames = new("public", "solo_");

    [Fact]
    public async Task MigrateAsync_EmptyDatabase_CreatesEveryObjectAndRecordsEveryVersion()
    {
        var connectionString = await FreshDatabase.CreateAsync();
        await using var connection = await OpenAsync(connectionString);

        var applied = await PostgresMigrator.MigrateAsync(connection, DefaultNames, PostgresMigrations.All, default);

        Assert.Equal(PostgresMigrations.All.Select(m => m.Version), applied);
        foreach (var name in new[] { "solo_messages", "solo_dead_letters", "solo_locks", "solo_fencing_tokens", "solo_outbox", "solo_schema_migrations" })
        {
            Assert.True(await ScalarAsync<bool>(connection, $"SELECT to_regclass('public.{name}') IS NOT NULL"), $"{name} was not created");
        }

        Assert.Equal(1L, await ScalarAsync<long>(connection, "SELECT count(*) FROM solo_schema_migrations WHERE version = 1 AND applied_at <= now()"));
    }

    [Fact]
    public async Task MigrateAsync_RunAgain_AppliesNothing()
    {
        var connectionString = await FreshDatabase.CreateAsync();
        await using var connection = await OpenAsync(connectionString);
        await PostgresMigrator.MigrateAsync(connection, DefaultNames, PostgresMigrations.All, default);

        var again = await PostgresMigrator.MigrateAsync(connection, DefaultNames, PostgresMigrations.All, default);

        Assert.Empty(again);
        Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync<long>(connection, "SELECT count(*) FROM solo_schema_migrations"));
    }

    [Fact]
    public async Task MigrateAsync_SixProcessesStartingAtOnce_AllSucceedAndEachMigrationRunsOnce()
    {
        var connectionString = await FreshDatabase.CreateAsync();
        var connections = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => OpenAsync(connectionString + ";Pooling=false")));
        try
        {
            var applied = await Task.WhenAll(connections.Select(c => Task.Run(() => PostgresMigrator.MigrateAsync(c, DefaultNames, PostgresMigrations.All, default))));

            Assert.Equal(PostgresMigrations.All.Select(m => m.Version), applied.SelectMany(a => a));
            Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync<long>(connections[0], "SELECT count(*) FROM solo_schema_migrations"));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task FirstOperations_SeveralStoresOnAnEmptyDatabaseAtOnce_AllSucceed()
    {
        var connectionString = await FreshDatabase.CreateAsync();
        var options = new PostgresOptions { Schema = "solo_fresh" };
        var brokers = Enumerable.Range(0, 4).Select(_ => new PostgresBroker(connectionString, options)).ToArray();
        var stores = Enumerable.Range(0, 4).Select(_ => new PostgresLockStore(connectionString, options)).ToArray();
        try
        {
            await Task.WhenAll(
                brokers.Select(b => Task.Run(async () => await b.PublishAsync([new Solo.Brokers.OutgoingMessage("m", "q", new byte[] { 1 })], default)))
                    .Concat(stores.Select((s, i) => Task.Run(async () => await s.TryAcquireAsync($"k{i}", "owner", TimeSpan.FromMinutes(1), default)))));

            Assert.Equal(4, (await brokers[0].GetCountsAsync("q", default)).Ready);
            await using var connection = await OpenAsync(connectionString);
            Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync<long>(connection, "SELECT count(*) FROM solo_fresh.solo_schema_migrations"));
        }
        finally
        {
            foreach (var broker in brokers)
            {
                await broker.DisposeAsync();
            }

            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task MigrateAsync_MigrationAppendedLater_AppliesOnlyTheNewOne()
    {
        var connectionString = await FreshDatabase.CreateAsync();
        await using var connection = await OpenAsync(connectionString);
        await PostgresMigrator.MigrateAsync(connection, DefaultNames, PostgresMigrations.All, default);
        PostgresMigration[] extended = [.. PostgresMigrations.All, new(PostgresMigrations.Latest + 1, "test table", n => $"CREATE TABLE {n.QuotedSchema}.\"{n.Prefix}extra\" (id integer)")];

        var applied = await PostgresMigrator.MigrateAsync(connection, DefaultNames, extended, default);

        Assert.Equal([PostgresMigrations.Latest + 1], applied);
        Assert.True(await ScalarAsync<bool>(connection, "SELECT to_regclass('public.solo_extra') IS NOT NULL"));
        // The older list still runs against the newer database: it finds every version it knows.
        Assert.Empty(await PostgresMigrator.MigrateAsync(connection, DefaultNames, PostgresMigrations.All, default));
    }

    [Fact]
    public async Task MigrateAsync_OwnSchemaAndPrefix_CreatesTheSchemaAndNamesTheTables()
    {
        var connectionString = await FreshDatabase.CreateAsync();
        await using var connection = await OpenAsync(connectionString);

        await PostgresMigrator.MigrateAsync(connection, new PostgresNames("jobs", "app_"), PostgresMigrations.All, default);

        Assert.True(await ScalarAsync<bool>(connection, "SELECT to_regclass('jobs.app_messages') IS NOT NULL"));
        Assert.True(await ScalarAsync<bool>(connection, "SELECT to_regclass('jobs.app_schema_migrations') IS NOT NULL"));
        Assert.False(await ScalarAsync<bool>(connection, "SELECT to_regclass('public.solo_messages') IS NOT NULL"));
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
