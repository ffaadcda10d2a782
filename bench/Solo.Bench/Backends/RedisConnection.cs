using Solo.Bench.Servers;
using StackExchange.Redis;

namespace Solo.Bench.Backends;

/// <summary>
/// One multiplexer per bench run, shared by every run's lock store, broker and raw baseline, as an app
/// shares one; and the cleanup between runs.
/// </summary>
internal sealed class RedisConnection(PrivateServers servers) : IAsyncDisposable
{
    private ConnectionMultiplexer? _connection;

    public async Task<ConnectionMultiplexer> GetAsync(CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            var address = await servers.RedisAsync(cancellationToken);
            var options = ConfigurationOptions.Parse(address);
            foreach (var endpoint in options.EndPoints)
            {
                PrivateServers.RequireLoopback(endpoint switch
                {
                    System.Net.DnsEndPoint dns => dns.Host,
                    System.Net.IPEndPoint ip => ip.Address.ToString(),
                    _ => endpoint.ToString() ?? "",
                }, "--redis");
            }

            // FLUSHDB between runs, only on a server started here.
            options.AllowAdmin = servers.RedisIsPrivate;
            _connection = await ConnectionMultiplexer.ConnectAsync(options);
        }

        return _connection;
    }

    /// <summary>
    /// Removes a run's keys: a private server is flushed (millions of enqueue slots would take seconds to
    /// scan), a given one has only the keys under <paramref name="prefix"/> deleted.
    /// </summary>
    public async ValueTask RemoveAsync(string prefix)
    {
        if (_connection is null)
        {
            return;
        }

        var server = _connection.GetServers()[0];
        if (servers.RedisIsPrivate)
        {
            await server.FlushDatabaseAsync();
            return;
        }

        var db = _connection.GetDatabase();
        var batch = new List<RedisKey>(1000);
        await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000))
        {
            batch.Add(key);
            if (batch.Count == 1000)
            {
                await db.KeyDeleteAsync(batch.ToArray());
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await db.KeyDeleteAsync(batch.ToArray());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
