using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace Solo.Redis.Connection;

/// <summary>
/// What the lock store and the broker share about their connection: the database, the name of the server
/// in errors, and the translation of the client's connection faults into <see cref="BackendUnavailableException"/>.
/// </summary>
internal sealed class RedisBackend
{
    public RedisBackend(IConnectionMultiplexer connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
        Database = connection.GetDatabase();
        Name = "Redis " + string.Join(",", connection.GetEndPoints(configuredOnly: true).Select(Format));
    }

    public IConnectionMultiplexer Connection { get; }

    public IDatabase Database { get; }

    /// <summary>The servers as errors name them, e.g. <c>Redis 127.0.0.1:6379</c>; never credentials.</summary>
    public string Name { get; }

    /// <summary>
    /// True when the keys live in one hash slot, so one script may touch them all. Outside a cluster every
    /// key does: the client reports no slot at all.
    /// </summary>
    public bool SameSlot(RedisKey a, RedisKey b) => Connection.HashSlot(a) == Connection.HashSlot(b);

    public int Slot(RedisKey key) => Connection.HashSlot(key);

    /// <summary>Runs a script (by its SHA once the server knows it), translating connection faults.</summary>
    public Task<RedisResult> EvaluateAsync(string script, RedisKey[] keys, RedisValue[] args) =>
        RunAsync(db => db.ScriptEvaluateAsync(script, keys, args));

    /// <summary>Runs <paramref name="call"/> on the database, translating connection faults.</summary>
    public async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> call)
    {
        try
        {
            return await call(Database).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unavailable(ex) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>Awaits a call already sent (e.g. one of a pipelined batch), translating connection faults.</summary>
    public async Task<T> AwaitAsync<T>(Task<T> sent)
    {
        try
        {
            return await sent.ConfigureAwait(false);
        }
        catch (Exception ex) when (Unavailable(ex) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>
    /// The exception to throw instead of <paramref name="exception"/> when it means the server could not
    /// be reached or answered that it cannot serve yet; null for every other fault, which is rethrown as is.
    /// </summary>
    public BackendUnavailableException? Unavailable(Exception exception) => exception switch
    {
        RedisConnectionException => new BackendUnavailableException(Name, exception.Message, exception),
        RedisTimeoutException => new BackendUnavailableException(Name, exception.Message, exception),
        // A restarted server loads its data first; a cluster without a quorum refuses writes for a while.
        RedisServerException server when IsTransientServerState(server.Message) => new BackendUnavailableException(Name, exception.Message, exception),
        _ => null,
    };

    private static bool IsTransientServerState(string message) =>
        message.StartsWith("LOADING", StringComparison.Ordinal)
        || message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal);

    private static string Format(EndPoint endPoint) => endPoint switch
    {
        DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
        IPEndPoint ip => string.Create(CultureInfo.InvariantCulture, $"{ip.Address}:{ip.Port}"),
        _ => endPoint.ToString() ?? "(unknown)",
    };
}
