using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Solo.Redis.Connection;

/// <summary>
/// One connection per configuration string for the service provider that holds it, so that a broker and a
/// lock store on the same server share it. Connects on first use and disposes what it connected.
/// </summary>
internal sealed class RedisConnectionPool : IDisposable, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ConnectionMultiplexer>> _connections = new(StringComparer.Ordinal);

    /// <summary>
    /// The client settings Solo needs on top of <paramref name="configuration"/>: the connection heals by
    /// itself after Redis comes back instead of failing for good, and while it is down calls fail at once
    /// (with <see cref="BackendUnavailableException"/>) instead of queueing until their timeout.
    /// </summary>
    public static ConfigurationOptions Options(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
    }

    /// <summary>Connections opened so far; for tests.</summary>
    internal int Count => _connections.Count(c => c.Value.IsValueCreated);

    public IConnectionMultiplexer Get(string configuration) =>
        _connections.GetOrAdd(configuration, static c => new Lazy<ConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(Options(c)))).Value;

    public void Dispose()
    {
        foreach (var connection in _connections.Values)
        {
            if (connection.IsValueCreated)
            {
                connection.Value.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values)
        {
            if (connection.IsValueCreated)
            {
                await connection.Value.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
