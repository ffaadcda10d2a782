using Solo.Locks;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Sqlite.Tests.Locks;

/// <summary>The lock store suite on the real clock, each test on a file of its own.</summary>
public sealed class SqliteLockStoreConformanceTests : LockStoreConformanceTests, IDisposable
{
    private readonly TempDatabase _file = new();

    protected override bool ListsInOrdinalKeyOrder => true;

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new SqliteLockStore(_file.Options(), timeProvider));

    protected override async ValueTask<long?> CountStoredLocksAsync(ILockStore store) =>
        await ((SqliteLockStore)store).CountRowsAsync(default);

    public void Dispose() => _file.Dispose();
}
