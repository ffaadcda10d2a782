namespace LoanRecompute;

/// <summary>
/// Where loans live. In-process for now; it is an interface (and async) because the store is meant
/// to move into a database without the task or the producer changing.
/// </summary>
internal interface ILoanStore
{
    /// <summary>Records an event on a loan (creating the loan on its first event) and returns its new version.</summary>
    ValueTask<long> RecordEventAsync(int loanId, CancellationToken cancellationToken);

    /// <summary>The loan's current version, 0 for a loan that has had no event.</summary>
    ValueTask<long> GetVersionAsync(int loanId, CancellationToken cancellationToken);

    /// <summary>Stores the loan's result row, computed from <paramref name="version"/>, replacing the previous one.</summary>
    ValueTask SaveResultAsync(int loanId, long version, DateTimeOffset computedAt, CancellationToken cancellationToken);

    /// <summary>Every loan that has had an event, with its result row if it has one.</summary>
    ValueTask<IReadOnlyList<LoanSnapshot>> GetLoansAsync(CancellationToken cancellationToken);
}
