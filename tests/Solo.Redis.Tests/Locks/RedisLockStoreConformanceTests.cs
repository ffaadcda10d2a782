using Solo.Locks;
using Solo.Redis.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Redis.Tests.Locks;

/// <summary>The lock store suite on the shared server, on the real clock (Redis keeps its own).</summary>
public sealed class RedisLockStoreConformanceTests : LockStoreConformanceTests
{
    // Redis expires keys to the millisecond, so TTLs can be as short as the in-memory store's.
    protected override TimeSpan ShortTtl => TimeSpan.FromMilliseconds(600);

    protected override TimeSpan Margin => TimeSpan.FromMilliseconds(200);

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new RedisLockStore(RedisServer.SharedConnection));
}
