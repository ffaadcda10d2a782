using Solo.Redis;

namespace Solo.Bench.Backends;

/// <summary>Redis for both: the Streams broker and the lock store, on one shared multiplexer.</summary>
internal sealed class RedisStreamsBackend(RedisConnection redis) : IBenchBackend
{
    private int _runs;

    public string Name => "redis-streams";

    public async ValueTask<BackendInstance> CreateAsync(CancellationToken cancellationToken)
    {
        var connection = await redis.GetAsync(cancellationToken);
        var prefix = $"bench:{Interlocked.Increment(ref _runs)}:";
        var broker = new RedisStreamsBroker(connection, TimeProvider.System, new RedisStreamsBrokerOptions { KeyPrefix = prefix + "s:" });
        return new BackendInstance(broker, new RedisLockStore(connection), "bench", prefix + "l:", async () =>
        {
            await broker.DisposeAsync();
            await redis.RemoveAsync(prefix);
        })
        {
            Redis = connection,
        };
    }
}
