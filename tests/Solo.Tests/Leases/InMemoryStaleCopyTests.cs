using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;

namespace Solo.Tests.Leases;

public sealed class InMemoryStaleCopyTests : StaleCopyTests
{
    protected override (IBroker Broker, ILockStore Locks) CreateBackend(TimeProvider time, TimeSpan deliveryLease) =>
        (new InMemoryBroker(time, new InMemoryBrokerOptions { DeliveryLease = deliveryLease }), new InMemoryLockStore(time));
}
