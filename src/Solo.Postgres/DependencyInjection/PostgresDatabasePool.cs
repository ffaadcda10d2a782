using Solo.Postgres.Storage;

namespace Solo.Postgres.DependencyInjection;

/// <summary>
/// The database objects of one service provider, one per connection string, schema and prefix, so that a
/// broker and a lock store on the same database (<c>UsePostgres</c>, or <c>UsePostgresBroker</c> and
/// <c>UsePostgresLocks</c> with the same string) share one connection pool and one migration. Disposed,
/// with its pools, by the service provider.
/// </summary>
internal sealed class PostgresDatabasePool : IAsyncDisposable, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string ConnectionString, string Schema, string Prefix), PostgresDatabase> _databases = [];

    /// <summary>How many database objects it holds; for tests.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _databases.Count;
            }
        }
    }

    public PostgresDatabase Get(string connectionString, PostgresOptions options)
    {
        var key = (connectionString, options.Schema, options.TablePrefix);
        lock (_gate)
        {
            if (!_databases.TryGetValue(key, out var database))
            {
                database = PostgresDatabase.Create(connectionString, options);
                _databases.Add(key, database);
            }

            return database;
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        PostgresDatabase[] databases;
        lock (_gate)
        {
            databases = [.. _databases.Values];
            _databases.Clear();
        }

        foreach (var database in databases)
        {
            await database.DisposeAsync().ConfigureAwait(false);
        }
    }
}
