namespace Solo.Bench.Scenarios.UniqueEnqueue;

/// <summary>Arguments whose <see cref="Id"/> is also the unique key, so every enqueue takes a fresh key.</summary>
internal sealed record EnqueueArgs(long Id);
