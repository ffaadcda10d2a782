using Solo.InMemory;
using Solo.Redis;

namespace Solo.Bench.Backends;

/// <summary>
/// Redis locks with the in-process broker: the broker costs next to nothing, so what an enqueue costs over
/// raw <c>SET NX PX</c> is the unique check itself, which is what issue 4's 30% target is about.
/// </summary>
internal sealed class RedisLocksBackend(RedisConnection redis) : IBenchBackend
{
    private int _runs;

    public string Name => "redis";

    public async ValueTask<BackendInstance> CreateAsync(CancellationToken cancellationToken)
    {
        var connection = await redis.GetAsync(cancellationToken);
        var prefix = $"bench:{Interlocked.Increment(ref _runs)}:";
        var time = TimeProvider.System;
        return new BackendInstance(new InMemoryBroker(time), new RedisLockStore(connection), "bench", prefix, () => redis.RemoveAsync(prefix))
        {
            Redis = connection,
        };
    }
}
