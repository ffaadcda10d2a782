using StackExchange.Redis;
using StackExchange.Redis.Profiling;

namespace Solo.Redis.Tests.Support;

/// <summary>
/// Counts the commands a connection sends while counting is on, through the client's profiler: each
/// command is one request and one reply. The connection's own keep-alive traffic is left out.
/// </summary>
public sealed class CommandCounter
{
    private static readonly HashSet<string> Housekeeping = new(StringComparer.OrdinalIgnoreCase) { "PING", "ECHO", "INFO", "CLUSTER", "CONFIG", "CLIENT", "SUBSCRIBE", "UNSUBSCRIBE", "HELLO", "SELECT" };
    private ProfilingSession? _session;

    public CommandCounter(ConnectionMultiplexer connection) => connection.RegisterProfiler(() => Volatile.Read(ref _session));

    public void Start() => Volatile.Write(ref _session, new ProfilingSession());

    /// <summary>Stops counting and returns the commands sent since <see cref="Start"/>, in order.</summary>
    public IReadOnlyList<string> Stop()
    {
        var session = Interlocked.Exchange(ref _session, null) ?? throw new InvalidOperationException("Not counting.");
        return session.FinishProfiling()
            .OrderBy(c => c.CommandCreated)
            .Select(c => c.Command)
            .Where(c => !Housekeeping.Contains(c))
            .ToArray();
    }
}
