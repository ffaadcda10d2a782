namespace LoanRecompute.Tests.Support;

/// <summary>
/// The tests that run on the private servers: one collection, so that they share the servers (started once)
/// and run one after another, each several processes on a small machine.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<BackendServers>
{
    public const string Name = "backend servers";
}
