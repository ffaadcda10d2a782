using Solo.Brokers;
using Solo.Redis.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Redis.Tests.Brokers;

/// <summary>The broker suite on the shared server, on the real clock (Redis measures leases itself).</summary>
public sealed class RedisStreamsBrokerConformanceTests : BrokerConformanceTests
{
    protected override TimeSpan ShortLease => TimeSpan.FromMilliseconds(800);

    protected override TimeSpan Margin => TimeSpan.FromMilliseconds(250);

    protected override TimeSpan QuietWait => TimeSpan.FromMilliseconds(100);

    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new RedisStreamsBroker(RedisServer.SharedConnection, timeProvider, new RedisStreamsBrokerOptions { DeliveryLease = deliveryLease }));
}
