using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Solo.Outbox;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Support;

namespace Solo.Sqlite.Tests.Outbox;

/// <summary>Wrong use of the SQLite outbox gets an error that names the mistake, and writes nothing.</summary>
public sealed class SqliteOutboxStoreTests : IDisposable
{
    private readonly TempDatabase _app = new();
    private readonly TempDatabase _other = new();

    [Fact]
    public async Task EnqueueAsync_TransactionOnAnotherFile_ThrowsNamingBothFiles()
    {
        await using var provider = Build(s => s.UseSqliteOutbox(_app.Path));
        await using var connection = await OpenAsync(_other.Path);
        await using var transaction = await connection.BeginTransactionAsync();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => provider.GetRequiredService<ISoloClient>().EnqueueAsync(new Work(1), transaction: transaction));

        Assert.Contains(_app.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(_other.Path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnqueueAsync_TransactionAlreadyCommitted_ThrowsAndWritesNothing()
    {
        await using var provider = Build(s => s.UseSqliteOutbox(_app.Path));
        await using var connection = await OpenAsync(_app.Path);
        var transaction = await connection.BeginTransactionAsync();
        await transaction.CommitAsync();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => provider.GetRequiredService<ISoloClient>().EnqueueAsync(new Work(1), transaction: transaction));

        Assert.Contains("already ended", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, await provider.GetRequiredService<IOutboxStore>().CountAsync(default));
    }

    [Fact]
    public async Task EnqueueAsync_NoOutboxConfigured_ThrowsSayingHowToAddOne()
    {
        await using var provider = Build(_ => { });
        await using var connection = await OpenAsync(_app.Path);
        await using var transaction = await connection.BeginTransactionAsync();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<ISoloClient>().EnqueueAsync(new Work(1), transaction: transaction));

        Assert.Contains("UseSqliteOutbox", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnqueueAsync_MessageOverTheSizeLimit_ThrowsAtEnqueueAndWritesNothing()
    {
        await using var provider = Build(s => s.UseSqliteOutbox(_app.Path).Configure(o => o.MaxPayloadBytes = 120));
        await using var connection = await OpenAsync(_app.Path);
        await using var transaction = await connection.BeginTransactionAsync();

        var ex = await Assert.ThrowsAsync<TaskPayloadException>(() => provider.GetRequiredService<ISoloClient>().EnqueueAsync(new Work(1, int.MaxValue), transaction: transaction));
        await transaction.CommitAsync();

        Assert.Contains("over the limit of 120 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, await provider.GetRequiredService<IOutboxStore>().CountAsync(default));
    }

    [Fact]
    public async Task ClaimAsync_FileWithoutTheTable_CreatesItAndRecordsTheSchemaVersion()
    {
        await using var store = new SqliteOutboxStore(_app.Path, TimeProvider.System, TimeSpan.FromSeconds(30));

        await using (var batch = await store.ClaimAsync(10, default))
        {
            Assert.Empty(batch.Messages);
        }

        await using var connection = await OpenAsync(_app.Path);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM solo_schema WHERE component = 'outbox'";
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _app.Dispose();
        _other.Dispose();
    }

    private ServiceProvider Build(Action<SoloBuilder> outbox)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new Probe());
        services.AddSolo(s =>
        {
            s.AddTask<WorkTask, Work>("work").UseSqlite(_app.Path);
            outbox(s);
        });
        return services.BuildServiceProvider();
    }

    private static async Task<SqliteConnection> OpenAsync(string path)
    {
        var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        return connection;
    }
}
