using Solo.Brokers;
using Solo.Locks;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Leases;

namespace Solo.Sqlite.Tests.Leases;

// A broker and a lock store on one file contend for its lock, which blocks threads: run alone, so as not to
// stretch the real-time suites (see ContentionCollection).
[Collection(ContentionCollection.Name)]
public sealed class SqliteStaleCopyTests : StaleCopyTests, IDisposable
{
    private readonly TempDatabase _file = new();

    protected override (IBroker Broker, ILockStore Locks) CreateBackend(TimeProvider time, TimeSpan deliveryLease) =>
        (new SqliteBroker(_file.Options(deliveryLease), time), new SqliteLockStore(_file.Options(deliveryLease), time));

    public void Dispose() => _file.Dispose();
}
