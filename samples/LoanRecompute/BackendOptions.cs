namespace LoanRecompute;

/// <summary>
/// Where the queue, the locks and the loans live. Every command takes these options the same way, so a
/// new backend (a broker or lock store of its own) is one more option here, not one per command.
/// </summary>
internal sealed record BackendOptions
{
    /// <summary>Used when <c>--redis</c> is not given: a local server on its standard port.</summary>
    public const string DefaultRedis = "127.0.0.1:6379";

    /// <summary>Used when <c>--rabbitmq</c> is not given: a local server, user guest (accepted from loopback only).</summary>
    public const string DefaultRabbitMQ = "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>Used when <c>--postgres</c> is not given: a local server, user postgres, database solo.</summary>
    public const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=postgres;Database=solo";

    /// <summary>The SQLite file shared by every process; null lets <c>simulate</c> use a temporary one.</summary>
    public string? DbPath { get; init; }

    /// <summary>Where the tasks wait: <c>sqlite</c> (Solo's tables in <see cref="DbPath"/>), <c>redis</c> (Streams), <c>rabbitmq</c> or <c>postgres</c>.</summary>
    public string Broker { get; init; } = "sqlite";

    /// <summary>Where the unique locks live: <c>sqlite</c> (in <see cref="DbPath"/>), <c>redis</c> or <c>postgres</c>.</summary>
    public string Locks { get; init; } = "sqlite";

    /// <summary>The StackExchange.Redis configuration string; null when not given.</summary>
    public string? Redis { get; init; }

    /// <summary>The AMQP URI; null when not given.</summary>
    public string? RabbitMQ { get; init; }

    /// <summary>The Npgsql connection string; null when not given. Solo's tables live there, the loans stay in <see cref="DbPath"/>.</summary>
    public string? Postgres { get; init; }

    public bool UsesRedis => Broker == "redis" || Locks == "redis";

    public bool UsesPostgres => Broker == "postgres" || Locks == "postgres";

    public string RedisConfiguration => Redis ?? DefaultRedis;

    public string RabbitMQUri => RabbitMQ ?? DefaultRabbitMQ;

    public string PostgresConnectionString => Postgres ?? DefaultPostgres;
}
