namespace LoanRecompute;

/// <summary>The one line the sample prints on stdout; the property order is the JSON field order.</summary>
internal sealed record RunSummary(
    string Mode,
    long Events,
    long Enqueued,
    long Duplicates,
    long Executions,
    int MaxConcurrentPerKey,
    int StaleResults,
    long ElapsedMs);
