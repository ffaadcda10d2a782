using Solo.Brokers;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Sqlite.Tests.Brokers;

/// <summary>The broker suite on the real clock, each test on a file of its own.</summary>
public sealed class SqliteBrokerConformanceTests : BrokerConformanceTests, IDisposable
{
    private readonly TempDatabase _file = new();

    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new SqliteBroker(_file.Options(deliveryLease), timeProvider));

    public void Dispose() => _file.Dispose();
}
