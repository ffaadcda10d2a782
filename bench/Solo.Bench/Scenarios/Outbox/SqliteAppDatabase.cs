using System.Data.Common;
using Microsoft.Data.Sqlite;
using Solo.Sqlite;

namespace Solo.Bench.Scenarios.Outbox;

/// <summary>The app's SQLite file, next to Solo's own (an embedded app keeps its data apart from the queue).</summary>
internal sealed class SqliteAppDatabase(string path) : IAppDatabase
{
    public string Name => "sqlite";

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;" + AppSchema.Create.Replace("{0}", "INTEGER PRIMARY KEY", StringComparison.Ordinal);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection($"Data Source={path};Default Timeout=30");
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    public void UseOutbox(SoloBuilder solo, Action<Solo.Outbox.OutboxOptions> configure) => solo.UseSqliteOutbox(path, configure);

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(path + suffix);
        }

        return ValueTask.CompletedTask;
    }
}
