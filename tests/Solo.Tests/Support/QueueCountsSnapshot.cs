using Solo.Brokers;

namespace Solo.Tests.Support;

/// <summary>Queue counts, as a class so that assertions print them whole.</summary>
public sealed record QueueCountsSnapshot(QueueCounts Counts)
{
    public long Pending => Counts.Pending;

    public long Ready => Counts.Ready;

    public long DeadLettered => Counts.DeadLettered;
}
