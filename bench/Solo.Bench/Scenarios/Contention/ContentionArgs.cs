namespace Solo.Bench.Scenarios.Contention;

/// <summary>A task of one of the 50 contended keys.</summary>
internal sealed record ContentionArgs(int Key);
