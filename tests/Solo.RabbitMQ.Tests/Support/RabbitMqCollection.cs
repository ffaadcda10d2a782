namespace Solo.RabbitMQ.Tests.Support;

/// <summary>The RabbitMQ test classes: one node for all, and one class at a time, since one of them restarts it.</summary>
[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqServerFixture>
{
    public const string Name = "RabbitMQ server";
}
