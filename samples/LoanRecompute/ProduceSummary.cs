namespace LoanRecompute;

/// <summary>The one line produce prints on stdout; the property order is the JSON field order.</summary>
internal sealed record ProduceSummary(string Mode, long Events, long Enqueued, long Duplicates, long ElapsedMs);
