using Solo.Brokers;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Sqlite.Tests.Brokers;

/// <summary>
/// The broker suite on a fake clock: every time the broker stores comes from its clock, so leases and start
/// times hold to the tick.
/// </summary>
public sealed class SqliteBrokerFakeTimeTests : FakeClockBrokerConformanceTests, IDisposable
{
    private readonly TempDatabase _file = new();

    protected override ValueTask<IBroker> CreateBrokerAsync(TimeProvider timeProvider, TimeSpan deliveryLease) =>
        ValueTask.FromResult<IBroker>(new SqliteBroker(_file.Options(deliveryLease), timeProvider));

    public void Dispose() => _file.Dispose();
}
