namespace LoanRecompute;

/// <summary>A run as recorded at its start.</summary>
/// <param name="RunId">Its row.</param>
/// <param name="LoanId">The loan it recomputes.</param>
/// <param name="Version">The loan's version it read, which its result will be stamped with.</param>
/// <param name="FencingToken">The token of its slot (<see cref="Solo.TaskContext.FencingToken"/>), which fences its result.</param>
internal sealed record LoanRun(long RunId, int LoanId, long Version, long? FencingToken);
