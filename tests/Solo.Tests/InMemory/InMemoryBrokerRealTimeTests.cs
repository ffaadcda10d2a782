using Solo.Brokers;
using Solo.InMemory;
using Solo.Tests.Conformance;

namespace Solo.Tests.InMemory;

/// <summary>
/// The broker suite on the real clock, as server backends run it; it keeps the suite's real-time path
/// honest. The in-memory broker is exact, so its leases and delays can be short.
/// </summary>
public sealed class InMemoryBrokerRealTimeTests : BrokerConformanceTests
{
    protected override TimeSpan ShortLease => TimeSpan.FromMilliseconds(600);

    protected override TimeSpan Margin => TimeSpan.FromMilliseconds(200);

    protected override TimeSpan QuietWait => TimeSpan.FromMilliseconds(50);

    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new InMemoryBroker(timeProvider, new InMemoryBrokerOptions { DeliveryLease = deliveryLease }));
}
