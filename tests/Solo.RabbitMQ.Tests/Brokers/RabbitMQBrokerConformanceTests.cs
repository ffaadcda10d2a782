using Solo.Brokers;
using Solo.RabbitMQ.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.RabbitMQ.Tests.Brokers;

/// <summary>The broker suite against the private node, on the real clock; every test has queues of its own.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMQBrokerConformanceTests(RabbitMqServerFixture server) : BrokerConformanceTests
{
    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new RabbitMQBroker(server.Options(deliveryLease), timeProvider));
}
