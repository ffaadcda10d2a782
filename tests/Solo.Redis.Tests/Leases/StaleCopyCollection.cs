namespace Solo.Redis.Tests.Leases;

/// <summary>
/// The stale-copy suite stalls a thread for a few seconds on purpose (a stopped process) and drives leases on
/// the real clock: it runs alone, after the other suites, so that neither stretches the other's timing.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StaleCopyCollection
{
    public const string Name = "Stale copies, alone";
}
