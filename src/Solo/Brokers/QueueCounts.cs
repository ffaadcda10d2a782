namespace Solo.Brokers;

/// <summary>How many messages a queue holds, by state.</summary>
/// <param name="Ready">Deliverable now.</param>
/// <param name="Scheduled">Waiting for their start time.</param>
/// <param name="InFlight">Delivered and not yet settled.</param>
/// <param name="DeadLettered">In the queue's dead letters.</param>
public readonly record struct QueueCounts(long Ready, long Scheduled, long InFlight, long DeadLettered)
{
    /// <summary>Messages not yet settled: ready, scheduled and in flight.</summary>
    public long Pending => Ready + Scheduled + InFlight;
}
