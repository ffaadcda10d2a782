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

    protected override (IBroker Broker, ILockStore Locks) CreateBackend(TimeProvider time, TimeSpan deliveryLease)
    {
        // Each test has a queue of its own; few delay levels keep the quorum queues that declares (and the
        // load they put on the shared node beside the timing-sensitive suites) small.
        var options = server.Options(deliveryLease);
        options.DelayLevels = 4;
        return (new RabbitMQBroker(options, time), new InMemoryLockStore(time));
    }
}
