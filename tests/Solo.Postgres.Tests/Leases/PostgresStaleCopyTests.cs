using Solo.Brokers;
using Solo.Locks;
using Solo.Postgres.Tests.Support;
using Solo.Tests.Leases;

namespace Solo.Postgres.Tests.Leases;

/// <summary>The stale-copy suite on PostgreSQL's broker and lock store, on the real clock (leases run on the server's).</summary>
[Collection(StaleCopyCollection.Name)]
public sealed class PostgresStaleCopyTests(FreshDatabase database) : StaleCopyTests, IClassFixture<FreshDatabase>
{
    protected override bool UsesFakeClock => false;

    protected override (IBroker Broker, ILockStore Locks) CreateBackend(TimeProvider time, TimeSpan deliveryLease)
    {
        // Tables of each test's own, so that its locks and queue never meet another test's.
        var options = new PostgresOptions { DeliveryLease = deliveryLease, PollInterval = TimeSpan.FromMilliseconds(100), TablePrefix = $"s{Guid.NewGuid():N}"[..12] + "_" };
        return (new PostgresBroker(database.ConnectionString, options), new PostgresLockStore(database.ConnectionString, options));
    }
}
