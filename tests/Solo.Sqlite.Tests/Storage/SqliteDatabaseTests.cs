using Solo.Brokers;
using Solo.Sqlite.Tests.Support;

namespace Solo.Sqlite.Tests.Storage;

/// <summary>The file itself: schema, version, pragmas, indexes.</summary>
[Collection(ContentionCollection.Name)]
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly TempDatabase _file = new();

    public void Dispose() => _file.Dispose();

    [Fact]
    public async Task FirstUse_NewFile_RecordsTheSchemaVersionAndUsesWal()
    {
        await using (var broker = new SqliteBroker(_file.Options(), TimeProvider.System))
        {
            await broker.GetCountsAsync("q", default);
        }

        Assert.Equal((long)SqliteSchema.CurrentVersion, await RawSqlite.ScalarAsync(_file.Path, "PRAGMA user_version"));
        Assert.Equal(1L, await RawSqlite.ScalarAsync(_file.Path, "PRAGMA user_version"));
        Assert.Equal("wal", await RawSqlite.ScalarAsync(_file.Path, "PRAGMA journal_mode"));
        Assert.Equal(4L, await RawSqlite.ScalarAsync(
            _file.Path,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('solo_messages', 'solo_dead_letters', 'solo_locks', 'solo_fencing')"));
    }

    [Fact]
    public async Task FirstUse_FileOfANewerSchema_RefusesItAndChangesNothing()
    {
        await RawSqlite.ExecuteAsync(_file.Path, "PRAGMA user_version = 99");
        await using var broker = new SqliteBroker(_file.Options(), TimeProvider.System);

        var error = await Assert.ThrowsAsync<NotSupportedException>(async () => await broker.PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default));

        Assert.Contains("99", error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await RawSqlite.ScalarAsync(_file.Path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"));
    }

    [Fact]
    public async Task FirstUse_ManyInstancesOpeningANewFileAtOnce_AllCreateOrFindTheSchema()
    {
        var brokers = Enumerable.Range(0, 8).Select(_ => new SqliteBroker(_file.Options(), TimeProvider.System)).ToArray();
        try
        {
            await Task.WhenAll(brokers.Select((broker, i) => Task.Run(async () =>
                await broker.PublishAsync([new OutgoingMessage($"m{i}", "q", new byte[] { (byte)i })], default))));

            Assert.Equal(new QueueCounts(8, 0, 0, 0), await brokers[0].GetCountsAsync("q", default));
            Assert.Equal(1L, await RawSqlite.ScalarAsync(_file.Path, "PRAGMA user_version"));
        }
        finally
        {
            foreach (var broker in brokers)
            {
                await broker.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task FirstUse_PathInAFolderThatDoesNotExist_CreatesTheFolder()
    {
        var path = Path.Combine(_file.Folder, "nested", "deeper", "solo.db");
        await using var store = new SqliteLockStore(new SqliteOptions { Path = path }, TimeProvider.System);

        Assert.True((await store.TryAcquireAsync("k", "owner", TimeSpan.FromMinutes(1), default)).Acquired);

        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task FirstUse_PathIsAFolder_ThrowsBackendUnavailable()
    {
        await using var store = new SqliteLockStore(new SqliteOptions { Path = _file.Folder }, TimeProvider.System);

        var error = await Assert.ThrowsAsync<BackendUnavailableException>(async () => await store.GetAsync("k", default));

        Assert.Equal($"SQLite {_file.Folder}", error.Backend);
    }

    [Fact]
    public async Task FirstUse_BrokerAndLockStoreOnOneFile_ShareItsTables()
    {
        await using var broker = new SqliteBroker(_file.Options(), TimeProvider.System);
        await using var store = new SqliteLockStore(_file.Options(), TimeProvider.System);

        await broker.PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default);
        await store.TryAcquireAsync("k", "owner", TimeSpan.FromMinutes(1), default);

        Assert.Equal(1L, await RawSqlite.ScalarAsync(_file.Path, "SELECT COUNT(*) FROM solo_messages"));
        Assert.Equal(1L, await RawSqlite.ScalarAsync(_file.Path, "SELECT COUNT(*) FROM solo_locks"));
    }

    [Theory]
    [InlineData(SqliteBroker.SelectDueSql)]
    [InlineData(SqliteBroker.AnyDueSql)]
    public async Task QueryPlan_ReceiveQueries_SeekTheDueIndexWithoutSorting(string sql)
    {
        await using (var broker = new SqliteBroker(_file.Options(), TimeProvider.System))
        {
            await broker.GetCountsAsync("q", default);
        }

        var plan = await PlanAsync(sql);

        Assert.Contains("SEARCH solo_messages USING", plan, StringComparison.Ordinal);
        Assert.Contains("INDEX solo_messages_due (queue=? AND not_before<?)", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
    }

    private async Task<string> PlanAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_file.Path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        command.Parameters.AddWithValue("$queue", "q");
        command.Parameters.AddWithValue("$now", 0L);
        command.Parameters.AddWithValue("$max", 10);
        var details = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            details.Add(reader.GetString(3));
        }

        return string.Join(" | ", details);
    }
}
