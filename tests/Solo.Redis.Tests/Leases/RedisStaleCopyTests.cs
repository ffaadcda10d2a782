using Solo.Brokers;
using Solo.Locks;
using Solo.Redis.Tests.Support;
using Solo.Tests.Leases;

namespace Solo.Redis.Tests.Leases;

/// <summary>The stale-copy suite on Redis Streams and Redis locks, on the real clock (Redis keeps the leases).</summary>
[Collection(StaleCopyCollection.Name)]
public sealed class RedisStaleCopyTests : StaleCopyTests
{
    protected override bool UsesFakeClock => false;

    protected override (IBroker Broker, ILockStore Locks) CreateBackend(TimeProvider time, TimeSpan deliveryLease) =>
        (new RedisStreamsBroker(RedisServer.SharedConnection, time, new RedisStreamsBrokerOptions { DeliveryLease = deliveryLease, KeyPrefix = RedisKeys.NewPrefix("stale-queues") }),
         new RedisLockStore(RedisServer.SharedConnection, new RedisLockStoreOptions { KeyPrefix = RedisKeys.NewPrefix("stale-locks") }));
}
