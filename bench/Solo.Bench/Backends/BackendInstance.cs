using Solo.Brokers;
using Solo.Locks;

namespace Solo.Bench.Backends;

/// <summary>
/// One run's broker and lock store, with the queue and lock prefix that isolate the run on a shared
/// server. The bench owns them, not the service providers built on them, so that several worker hosts
/// can share one instance and disposing a host does not close a connection the others still use.
/// </summary>
internal sealed class BackendInstance(IBroker broker, ILockStore locks, string queue, string lockPrefix, Func<ValueTask>? cleanup = null) : IAsyncDisposable
{
    public IBroker Broker { get; } = broker;

    public ILockStore Locks { get; } = locks;

    public string Queue { get; } = queue;

    public string LockPrefix { get; } = lockPrefix;

    public ValueTask DisposeAsync() => cleanup?.Invoke() ?? ValueTask.CompletedTask;
}
