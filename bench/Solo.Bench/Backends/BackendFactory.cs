using Solo.Bench.Servers;

namespace Solo.Bench.Backends;

/// <summary>Maps <c>--backend</c> to a backend. A new backend is one class and one line here.</summary>
internal static class BackendFactory
{
    public static IReadOnlyList<string> Names { get; } = ["memory", "sqlite", "redis", "rabbitmq-redis", "redis-streams", "postgres"];

    /// <summary>The backends <c>--backend</c> names; <c>all</c> is every one, in <see cref="Names"/> order.</summary>
    public static IReadOnlyList<string> Expand(string name) =>
        name == "all" ? Names
        : Names.Contains(name) ? [name]
        : throw new ArgumentException($"unknown backend '{name}' (known: {string.Join(", ", Names)}, all)");

    public static IBenchBackend Create(string name, PrivateServers servers, RedisConnection redis) => name switch
    {
        "memory" => new InMemoryBackend(),
        "sqlite" => new SqliteBackend(),
        "redis" => new RedisLocksBackend(redis),
        "rabbitmq-redis" => new RabbitMQRedisBackend(redis, servers),
        "redis-streams" => new RedisStreamsBackend(redis),
        "postgres" => new PostgresBackend(servers),
        _ => throw new ArgumentException($"unknown backend '{name}' (known: {string.Join(", ", Names)}, all)"),
    };
}
