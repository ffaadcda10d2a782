using Solo.Brokers;
using Solo.Locks;
using StackExchange.Redis;

namespace Solo.Bench.Backends;

/// <summary>
/// One run's broker and lock store, with the queue and lock prefix that isolate the run on a shared
/// server. The bench owns them, not the service providers built on them, so that several worker hosts
/// can share one instance and disposing a host does not close a connection the others still use.
/// </summary>
/// <remarks>
/// The server handles (<see cref="SqlitePath"/>, <see cref="Redis"/>, <see cref="RabbitMQ"/>) are there for
/// the raw baselines and the worker processes, which must reach the same server without going through Solo.
/// </remarks>
internal sealed class BackendInstance(IBroker broker, ILockStore locks, string queue, string lockPrefix, Func<ValueTask>? cleanup = null) : IAsyncDisposable
{
    public IBroker Broker { get; } = broker;

    public ILockStore Locks { get; } = locks;

    public string Queue { get; } = queue;

    public string LockPrefix { get; } = lockPrefix;

    public string? SqlitePath { get; init; }

    public IConnectionMultiplexer? Redis { get; init; }

    public Uri? RabbitMQ { get; init; }

    /// <summary>For the postgres backend: the database, and the table prefix of this instance's own tables.</summary>
    public (string ConnectionString, string TablePrefix)? Postgres { get; init; }

    public ValueTask DisposeAsync() => cleanup?.Invoke() ?? ValueTask.CompletedTask;
}
