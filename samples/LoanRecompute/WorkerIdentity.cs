using System.Globalization;

namespace LoanRecompute;

/// <summary>
/// This process as it signs its run rows and heartbeats. The id is random rather than the pid alone, so
/// that a pid the system hands out again can never be mistaken for an earlier process.
/// </summary>
internal sealed record WorkerIdentity(string Id, int Pid)
{
    public static WorkerIdentity ForThisProcess() =>
        new(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}-{Guid.NewGuid():N}"), Environment.ProcessId);
}
