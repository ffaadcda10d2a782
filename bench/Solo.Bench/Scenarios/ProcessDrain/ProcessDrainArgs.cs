namespace Solo.Bench.Scenarios.ProcessDrain;

/// <summary>A no-op task whose <paramref name="Id"/> is also its unique key.</summary>
/// <param name="Id">The unique key.</param>
/// <param name="EnqueuedTicks">
/// Stopwatch timestamp taken before the enqueue call. On Linux Stopwatch reads CLOCK_MONOTONIC, one clock
/// for every process of the machine, so the worker process can subtract it from its own start time.
/// </param>
internal sealed record ProcessDrainArgs(long Id, long EnqueuedTicks);
