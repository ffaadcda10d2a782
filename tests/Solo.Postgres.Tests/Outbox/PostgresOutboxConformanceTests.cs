using System.Data.Common;
using Npgsql;
using Solo.Outbox;
using Solo.Postgres.Storage;
using Solo.Postgres.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Postgres.Tests.Outbox;

/// <summary>The outbox suite on the shared server, each test on tables of its own (a prefix per test).</summary>
public sealed class PostgresOutboxConformanceTests(FreshDatabase database) : OutboxConformanceTests, IClassFixture<FreshDatabase>
{
    private readonly PostgresOptions _options = new() { TablePrefix = $"t{Guid.NewGuid():N}"[..20] + "_" };

    [Fact]
    public async Task Relay_CommitInAnotherProcess_WokenByNotifyNotByThePoll()
    {
        // The relay polls every 5 minutes, and the writer runs none: only NOTIFY can bring the task over in time.
        var relay = await StartAppAsync(pollInterval: TimeSpan.FromMinutes(5));
        var writer = await StartAppAsync(runRelay: false);
        await Task.Delay(200);

        var result = await CommitAsync(writer, new Solo.Tests.Support.Work(1));

        await WaitUntilPublishedAsync(relay, [result.TaskId], TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task EnqueueAsync_TransactionOnAnotherDatabase_ThrowsNamingBoth()
    {
        var app = await StartAppAsync(runRelay: false);
        var other = await FreshDatabase.CreateAsync();
        try
        {
            await using var connection = new NpgsqlConnection(other);
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();

            var ex = await Assert.ThrowsAsync<ArgumentException>(() => app.Client.EnqueueAsync(new Solo.Tests.Support.Work(1), transaction: transaction));

            Assert.Contains(connection.Database, ex.Message, StringComparison.Ordinal);
            Assert.Contains(new NpgsqlConnectionStringBuilder(database.ConnectionString).Database!, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            await PostgresServer.Shared.DropDatabaseAsync(other);
        }
    }

    protected override ValueTask<IOutboxStore> CreateStoreAsync(TimeSpan claimLease) =>
        ValueTask.FromResult<IOutboxStore>(new PostgresOutboxStore(PostgresDatabase.Create(database.ConnectionString, _options), ownsDatabase: true));

    protected override async ValueTask<DbConnection> OpenAppConnectionAsync()
    {
        var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    protected override async ValueTask<TimeSpan> AbandonAsync(IOutboxStore store, IOutboxBatch batch)
    {
        // As a killed relay process: its server session ends without a commit, and its row locks go with it.
        var pid = ((PostgresOutboxStore.Batch)batch).ProcessId;
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1)", connection);
        kill.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pid });
        await kill.ExecuteNonQueryAsync();
        return TimeSpan.Zero;
    }
}
