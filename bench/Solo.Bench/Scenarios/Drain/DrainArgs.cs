namespace Solo.Bench.Scenarios.Drain;

/// <summary>A no-op task of <paramref name="Key"/>'s <paramref name="Round"/>th run.</summary>
/// <param name="Key">The unique key.</param>
/// <param name="Round">0 for the first task of the key.</param>
/// <param name="EnqueuedTicks">
/// Stopwatch timestamp taken just before the enqueue call; finer and cheaper to compare than
/// <see cref="TaskContext.EnqueuedAt"/>, and on the same monotonic clock as the start.
/// </param>
internal sealed record DrainArgs(int Key, int Round, long EnqueuedTicks);
