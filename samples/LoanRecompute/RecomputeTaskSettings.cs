namespace LoanRecompute;

/// <summary>How <c>loans.recompute</c> is registered in one process: the shared uniqueness config and the per-process tuning.</summary>
/// <param name="Unique">Shared by every process on the database.</param>
/// <param name="RescheduleMs">How long a task that met a running one waits before it tries again.</param>
/// <param name="RunLeaseSeconds">The lease of a running task's lock.</param>
internal sealed record RecomputeTaskSettings(UniqueSettings Unique, int RescheduleMs, int RunLeaseSeconds)
{
    /// <summary>For a process that only enqueues: the tuning of runs does not matter there.</summary>
    public static RecomputeTaskSettings EnqueueOnly(UniqueSettings unique) => new(unique, RescheduleMs: 10, RunLeaseSeconds: 30);
}
