namespace LoanRecompute;

/// <summary>
/// Where loans, their results and the record of recompute runs live. The task and the producer see only
/// this; <see cref="SqliteLoanStore"/> keeps it in the file that Solo's queue uses.
/// </summary>
internal interface ILoanStore
{
    /// <summary>Records an event on a loan (creating the loan on its first event) and returns its new version.</summary>
    ValueTask<long> RecordEventAsync(int loanId, CancellationToken cancellationToken);

    /// <summary>
    /// Records an event as <see cref="RecordEventAsync(int, CancellationToken)"/> does, and runs
    /// <paramref name="alsoInTransaction"/> in the same transaction before it commits (the enqueue of the
    /// loan's recompute, written to Solo's outbox): both commit, or neither.
    /// </summary>
    ValueTask<long> RecordEventAsync(int loanId, Func<System.Data.Common.DbTransaction, CancellationToken, Task> alsoInTransaction, CancellationToken cancellationToken);

    /// <summary>
    /// Records that a run of <paramref name="taskId"/> starts now and reads the loan's version, in one step:
    /// the version read is the version at the recorded start, which is what verify relies on.
    /// </summary>
    ValueTask<LoanRun> StartRunAsync(int loanId, string taskId, int attempt, long? fencingToken, DateTimeOffset startedAt, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the run's result, fenced by its token, and closes the run, in one step. Returns true when the
    /// result replaced the loan's previous one (the run succeeded); false when a result written with the same
    /// or a newer token was there already, so the run's is refused and the run is closed as
    /// <see cref="SqliteLoanStore.StaleWriteRefused"/>. <paramref name="beforeCommit"/> runs last inside the
    /// transaction; when it throws, nothing is written.
    /// </summary>
    ValueTask<bool> CompleteRunAsync(LoanRun run, DateTimeOffset endedAt, Action beforeCommit, CancellationToken cancellationToken);

    /// <summary>Closes a run that failed or was cancelled, leaving the loan's result as it was.</summary>
    ValueTask AbandonRunAsync(LoanRun run, string outcome, DateTimeOffset endedAt, CancellationToken cancellationToken);

    /// <summary>Every loan that has had an event, with its result row if it has one.</summary>
    ValueTask<IReadOnlyList<LoanSnapshot>> GetLoansAsync(CancellationToken cancellationToken);
}
