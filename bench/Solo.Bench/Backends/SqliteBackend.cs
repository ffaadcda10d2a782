using Solo.Sqlite;

namespace Solo.Bench.Backends;

/// <summary>
/// A fresh SQLite file per run in a temporary folder, with the broker and the lock store on connections of
/// their own, as two processes (a producer and a worker) would have them; the file is deleted on dispose.
/// </summary>
internal sealed class SqliteBackend : IBenchBackend, IAsyncDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"solo-bench-sqlite-{Environment.ProcessId}");
    private int _runs;

    public string Name => "sqlite";

    public ValueTask<BackendInstance> CreateAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Directory.CreateDirectory(_folder);
        var path = Path.Combine(_folder, $"run-{Interlocked.Increment(ref _runs)}.db");
        var options = new SqliteOptions { Path = path };
        var broker = new SqliteBroker(options, TimeProvider.System);
        var locks = new SqliteLockStore(options, TimeProvider.System);
        return ValueTask.FromResult(new BackendInstance(broker, locks, "bench", "bench:", async () =>
        {
            await broker.DisposeAsync();
            await locks.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
            {
                File.Delete(path + suffix);
            }
        })
        {
            SqlitePath = path,
        });
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        return ValueTask.CompletedTask;
    }
}
