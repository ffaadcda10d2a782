using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Solo.Redis.Connection;

namespace Solo.Redis;

/// <summary>Chooses the Redis backends inside <c>services.AddSolo(solo => ...)</c>.</summary>
/// <remarks>
/// Each takes a StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c> or
/// <c>redis1:6379,redis2:6379,password=...</c>. Calls with the same string share one connection, so
/// <see cref="UseRedis"/> opens one. Its settings are kept, with two changes Solo relies on:
/// <c>AbortOnConnectFail</c> is false, so the connection heals by itself when Redis comes back, and the
/// backlog policy fails fast, so that while Redis is down every operation fails at once with
/// <see cref="BackendUnavailableException"/> instead of waiting for its timeout. The connection is opened
/// when the broker or lock store is first resolved and closed with the service provider.
/// </remarks>
public static class RedisSoloBuilderExtensions
{
    /// <summary>
    /// Uses Redis for both the broker (<see cref="RedisStreamsBroker"/>) and the lock store
    /// (<see cref="RedisLockStore"/>), replacing any chosen before.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string.</param>
    /// <param name="broker">Changes the broker's settings.</param>
    /// <param name="locks">Changes the lock store's settings.</param>
    /// <exception cref="ArgumentException">A setting is out of range; checked here, at registration.</exception>
    public static SoloBuilder UseRedis(this SoloBuilder builder, string configuration, Action<RedisStreamsBrokerOptions>? broker = null, Action<RedisLockStoreOptions>? locks = null) =>
        builder.UseRedisStreams(configuration, broker).UseRedisLocks(configuration, locks);

    /// <summary>
    /// Uses Redis for the lock store only (<see cref="RedisLockStore"/>), replacing any chosen before; the
    /// broker is chosen separately, e.g. RabbitMQ.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string.</param>
    /// <param name="configure">Changes the lock store's settings.</param>
    /// <exception cref="ArgumentException">A setting is out of range; checked here, at registration.</exception>
    public static SoloBuilder UseRedisLocks(this SoloBuilder builder, string configuration, Action<RedisLockStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        var options = new RedisLockStoreOptions();
        configure?.Invoke(options);
        options.Validate(nameof(configure));
        builder.Services.TryAddSingleton<RedisConnectionPool>();
        return builder.UseLockStore(sp => new RedisLockStore(sp.GetRequiredService<RedisConnectionPool>().Get(configuration), options));
    }

    /// <summary>
    /// Uses Redis Streams for the broker only (<see cref="RedisStreamsBroker"/>), replacing any chosen
    /// before; its clock is the <see cref="TimeProvider"/> in the services.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string.</param>
    /// <param name="configure">Changes the broker's settings.</param>
    /// <exception cref="ArgumentException">A setting is out of range; checked here, at registration.</exception>
    public static SoloBuilder UseRedisStreams(this SoloBuilder builder, string configuration, Action<RedisStreamsBrokerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        var options = new RedisStreamsBrokerOptions();
        configure?.Invoke(options);
        options.Validate(nameof(configure));
        builder.Services.TryAddSingleton<RedisConnectionPool>();
        return builder.UseBroker(sp => new RedisStreamsBroker(sp.GetRequiredService<RedisConnectionPool>().Get(configuration), sp.GetRequiredService<TimeProvider>(), options));
    }
}
