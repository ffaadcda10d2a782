using Solo.Brokers;
using Solo.Postgres.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Postgres.Tests.Brokers;

/// <summary>The broker suite on a database of the class's own, on the real clock (leases run on the server's).</summary>
public sealed class PostgresBrokerConformanceTests(FreshDatabase database) : BrokerConformanceTests, IClassFixture<FreshDatabase>
{
    protected override TimeSpan ShortLease => TimeSpan.FromSeconds(1);

    protected override TimeSpan Margin => TimeSpan.FromMilliseconds(300);

    protected override TimeSpan QuietWait => TimeSpan.FromMilliseconds(150);

    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new PostgresBroker(database.ConnectionString, new PostgresOptions { DeliveryLease = deliveryLease, PollInterval = TimeSpan.FromMilliseconds(100) }));
}
