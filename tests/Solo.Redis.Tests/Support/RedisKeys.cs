using StackExchange.Redis;

namespace Solo.Redis.Tests.Support;

/// <summary>Reads the shared server's keyspace the way a person at redis-cli would, for assertions.</summary>
public static class RedisKeys
{
    /// <summary>Every key under <paramref name="prefix"/> (SCAN, any type), sorted.</summary>
    public static async Task<List<string>> UnderAsync(IConnectionMultiplexer connection, string prefix)
    {
        var keys = new List<string>();
        foreach (var server in connection.GetServers())
        {
            await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000))
            {
                keys.Add((string)key!);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    /// <summary>A prefix of a test's own that contains no glob characters.</summary>
    public static string NewPrefix(string what) => $"test-{what}-{Guid.NewGuid():N}:";
}
