namespace LoanRecompute;

/// <summary>The one line verify prints on stdout; the property order is the JSON field order (new fields go at the end).</summary>
/// <param name="Events">Events recorded: the sum of every loan's version.</param>
/// <param name="Executions">Runs started, including runs whose process was killed.</param>
/// <param name="Lost">Loans whose last event was never followed by a run that read it and succeeded.</param>
/// <param name="StaleResults">Loans whose stored result is older than the loan (or missing).</param>
/// <param name="MaxConcurrentPerKey">
/// The most runs of one loan that ever ran at once while holding their lease, across processes. A run's lease
/// is what its worker renews while it runs (the broker's delivery and the unique run slot); a run that lost
/// it may go on for a while (its process stalled, and nothing in it runs until it wakes up), and such a run
/// beside its successor is the stall that fencing exists for, not two runs at once. The runs table proves a
/// run had lost its lease by its end in two cases, and those runs are left out of this count:
/// <list type="bullet">
/// <item><c>stale-write-refused</c>: its fenced write met a result written with the same or a larger token.
/// Tokens grow with every acquisition of the loan's slot, so the slot was taken again after this run took it,
/// which the lock store allows only once this run's lease had ended (an equal token is the same acquisition
/// run a second time, after its delivery was given to another worker).</item>
/// <item><c>lease-lost</c>: Solo cancelled the run while its host was not stopping. The task registers no
/// timeout, so a lost lease is the only such cancellation; one that lands during a shutdown is recorded as
/// <c>cancelled</c> and counted, which errs towards failing.</item>
/// </list>
/// Such a run is left out as a whole: the table records that its lease had ended by the run's end, not when,
/// so an overlap in which it still held its lease for a while is not counted here (see
/// <paramref name="MaxConcurrentPerKeyAllRuns"/>). Every other run counts: <c>ok</c>, <c>failed</c>,
/// <c>cancelled</c>, and killed runs (no outcome). A run that had lost its lease but wrote before any newer run
/// did passes the fence, ends <c>ok</c> and counts as well: the table cannot tell it from a run that held its
/// lease, and verify errs towards failing.
/// </param>
/// <param name="DeadLettered">Tasks in the queue's dead letters.</param>
/// <param name="LocksLeft">Live locks left in the lock store once the queue is drained.</param>
/// <param name="StaleWritesRefused">Runs whose result the fence refused because a run with a newer token had written (outcome <c>stale-write-refused</c>).</param>
/// <param name="MaxConcurrentPerKeyAllRuns">As <paramref name="MaxConcurrentPerKey"/>, counting the runs that had lost their lease too; for diagnosis only.</param>
internal sealed record VerifyReport(
    long Events,
    long Executions,
    int Lost,
    int StaleResults,
    int MaxConcurrentPerKey,
    long DeadLettered,
    int LocksLeft,
    long StaleWritesRefused,
    int MaxConcurrentPerKeyAllRuns)
{
    /// <summary>Nothing lost or stale, no two lease-holding runs of a loan at once, no lock left behind.</summary>
    public bool IsClean() => Lost == 0 && StaleResults == 0 && MaxConcurrentPerKey == 1 && LocksLeft == 0;
}
