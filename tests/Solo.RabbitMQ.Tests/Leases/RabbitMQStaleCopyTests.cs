using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;
using Solo.RabbitMQ.Tests.Support;
using Solo.Tests.Leases;

namespace Solo.RabbitMQ.Tests.Leases;

/// <summary>
/// The stale-copy suite on RabbitMQ, on the real clock (its leases are kept on the client, the redelivery
/// is the server's). RabbitMQ is a broker only: the locks are the in-memory store's, on the same clock.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMQStaleCopyTests(RabbitMqServerFixture server) : StaleCopyTests
{
    protected override bool UsesFakeClock => false;

    protected override (IBroker Broker, ILockStore Locks) CreateBackend(TimeProvider time, TimeSpan deliveryLease) =>
        (new RabbitMQBroker(server.Options(deliveryLease), time), new InMemoryLockStore(time));
}
