using Solo.Bench.Servers;
using Solo.Postgres;

namespace Solo.Bench.Backends;

/// <summary>Broker and lock store on a private PostgreSQL; each instance on tables of its own (a table prefix per run).</summary>
internal sealed class PostgresBackend(PrivateServers servers) : IBenchBackend
{
    private int _runs;

    public string Name => "postgres";

    public async ValueTask<BackendInstance> CreateAsync(CancellationToken cancellationToken)
    {
        var connectionString = await servers.PostgresAsync(cancellationToken);
        var options = new PostgresOptions { TablePrefix = $"bench{Interlocked.Increment(ref _runs)}_" };
        var broker = new PostgresBroker(connectionString, options);
        var locks = new PostgresLockStore(connectionString, options);

        // The first call of a new table prefix migrates its schema; that must not land in a measured window.
        await locks.GetAsync("bench:warm-up", cancellationToken);
        await broker.GetCountsAsync("bench", cancellationToken);
        return new BackendInstance(broker, locks, "bench", "bench:", async () =>
        {
            await broker.DisposeAsync();
            await locks.DisposeAsync();
        })
        {
            Postgres = (connectionString, options.TablePrefix),
        };
    }
}
