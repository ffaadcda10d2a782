namespace LoanRecompute.Tests.Support;

/// <summary>A row of the sample's runs table; times are Unix ms.</summary>
internal sealed record RecordedRun(long RunId, string TaskId, int LoanId, long StartedAt, long? EndedAt, string? Outcome, int Pid);
