using Solo.Locks;
using Solo.Postgres.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Postgres.Tests.Locks;

/// <summary>The lock store suite on a database of the class's own, on the real clock (TTLs run on the server's).</summary>
public sealed class PostgresLockStoreConformanceTests(FreshDatabase database) : LockStoreConformanceTests, IClassFixture<FreshDatabase>
{
    // The server keeps time to the microsecond, so TTLs can be as short as the in-memory store's.
    protected override TimeSpan ShortTtl => TimeSpan.FromMilliseconds(600);

    protected override TimeSpan Margin => TimeSpan.FromMilliseconds(200);

    protected override bool ListsInOrdinalKeyOrder => true;

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new PostgresLockStore(database.ConnectionString));
}
