using System.Collections.Concurrent;
using System.Diagnostics;

namespace Solo.Bench.Scenarios.Outbox;

/// <summary>Commit and start moments by task id, for commit-to-start latency.</summary>
internal sealed class OutboxProbe
{
    public ConcurrentDictionary<string, long> Committed { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> Started { get; } = new(StringComparer.Ordinal);

    public void Start(string taskId) => Started.TryAdd(taskId, Stopwatch.GetTimestamp());

    /// <summary>Start minus commit of every task that has both.</summary>
    public long[] Latencies() => Committed
        .Where(c => Started.ContainsKey(c.Key))
        .Select(c => Math.Max(0, Started[c.Key] - c.Value))
        .ToArray();
}
