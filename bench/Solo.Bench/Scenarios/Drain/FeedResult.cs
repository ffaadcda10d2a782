namespace Solo.Bench.Scenarios.Drain;

/// <summary>What the drain's feeder did.</summary>
/// <param name="Calls">EnqueueManyAsync calls.</param>
/// <param name="Enqueued">Tasks accepted (published).</param>
/// <param name="Duplicates">Tasks refused as duplicates; each ends its key's chain of rounds early.</param>
/// <param name="TimedOut">The feeder gave up waiting for starts: some accepted task never ran.</param>
internal sealed record FeedResult(int Calls, int Enqueued, int Duplicates, bool TimedOut);
