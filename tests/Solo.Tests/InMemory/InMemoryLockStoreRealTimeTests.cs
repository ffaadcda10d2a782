using Solo.InMemory;
using Solo.Locks;
using Solo.Tests.Conformance;

namespace Solo.Tests.InMemory;

/// <summary>
/// The lock store suite on the real clock, as server backends run it; it keeps the suite's real-time
/// path honest. The in-memory store is exact, so its TTLs can be short.
/// </summary>
public sealed class InMemoryLockStoreRealTimeTests : LockStoreConformanceTests
{
    protected override TimeSpan ShortTtl => TimeSpan.FromMilliseconds(600);

    protected override TimeSpan Margin => TimeSpan.FromMilliseconds(200);

    protected override bool ListsInOrdinalKeyOrder => true;

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new InMemoryLockStore(timeProvider));

    protected override ValueTask<long?> CountStoredLocksAsync(ILockStore store) =>
        ValueTask.FromResult<long?>(((InMemoryLockStore)store).StoredLocks);
}
