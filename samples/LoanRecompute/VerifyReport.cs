namespace LoanRecompute;

/// <summary>The one line verify prints on stdout; the property order is the JSON field order.</summary>
/// <param name="Events">Events recorded: the sum of every loan's version.</param>
/// <param name="Executions">Runs started, including runs whose process was killed.</param>
/// <param name="Lost">Loans whose last event was never followed by a run that read it and succeeded.</param>
/// <param name="StaleResults">Loans whose stored result is older than the loan (or missing).</param>
/// <param name="MaxConcurrentPerKey">The most runs of one loan ever running at once, across processes.</param>
/// <param name="DeadLettered">Tasks in the queue's dead letters.</param>
/// <param name="LocksLeft">Live locks left in the lock store once the queue is drained.</param>
internal sealed record VerifyReport(
    long Events,
    long Executions,
    int Lost,
    int StaleResults,
    int MaxConcurrentPerKey,
    long DeadLettered,
    int LocksLeft)
{
    /// <summary>Nothing lost or stale, no two runs of a loan at once, no lock left behind.</summary>
    public bool IsClean() => Lost == 0 && StaleResults == 0 && MaxConcurrentPerKey == 1 && LocksLeft == 0;
}
