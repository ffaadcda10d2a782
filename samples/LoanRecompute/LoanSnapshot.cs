namespace LoanRecompute;

/// <summary>A loan and its result row as read at one moment.</summary>
/// <param name="LoanId">The loan.</param>
/// <param name="Version">Bumped by each event.</param>
/// <param name="ResultVersion">The version the stored result was computed from; null while there is no result.</param>
/// <param name="ComputedAt">When that result was written.</param>
internal sealed record LoanSnapshot(int LoanId, long Version, long? ResultVersion, DateTimeOffset? ComputedAt)
{
    /// <summary>The stored result misses at least one event (or there is none yet).</summary>
    public bool IsStale => ResultVersion is not { } computedFrom || computedFrom < Version;
}
