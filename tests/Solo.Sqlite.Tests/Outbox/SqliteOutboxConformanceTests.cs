using System.Data.Common;
using Microsoft.Data.Sqlite;
using Solo.Outbox;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Sqlite.Tests.Outbox;

/// <summary>The outbox suite on an app's SQLite file of each test's own.</summary>
public sealed class SqliteOutboxConformanceTests : OutboxConformanceTests
{
    private readonly TempDatabase _file = new();

    protected override ValueTask<IOutboxStore> CreateStoreAsync(TimeSpan claimLease) =>
        ValueTask.FromResult<IOutboxStore>(new SqliteOutboxStore(_file.Path, TimeProvider.System, claimLease));

    protected override async ValueTask<DbConnection> OpenAppConnectionAsync()
    {
        var connection = new SqliteConnection($"Data Source={_file.Path}");
        await connection.OpenAsync();
        return connection;
    }

    protected override async ValueTask<TimeSpan> AbandonAsync(IOutboxStore store, IOutboxBatch batch)
    {
        // The claim stays in the file with its lease, as a killed process leaves it.
        await ((SqliteOutboxStore)store).DisposeAsync();
        return TimeSpan.FromSeconds(1);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _file.Dispose();
    }
}
