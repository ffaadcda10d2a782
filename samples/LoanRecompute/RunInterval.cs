namespace LoanRecompute;

/// <summary>The time a run held its loan, in Unix ms, as verify reconstructs it: [Start, End).</summary>
/// <param name="LoanId">The loan.</param>
/// <param name="Start">Its recorded start.</param>
/// <param name="End">Its recorded end, or verify's bound on it for a killed run.</param>
/// <param name="HeldLease">False when the run's outcome shows that it had lost its lease by its end.</param>
internal readonly record struct RunInterval(int LoanId, long Start, long End, bool HeldLease)
{
    /// <summary>The most intervals of one loan that overlap at any moment; 0 when there are none.</summary>
    public static int MaxOverlapPerLoan(IEnumerable<RunInterval> runs)
    {
        var max = 0;
        foreach (var loan in runs.GroupBy(r => r.LoanId))
        {
            // At equal times an end sorts before a start: a run that begins as another ends does not overlap it.
            var edges = loan
                .SelectMany(r => new[] { (Time: r.Start, Delta: 1), (Time: r.End, Delta: -1) })
                .OrderBy(e => e.Time)
                .ThenBy(e => e.Delta);
            var running = 0;
            foreach (var (_, delta) in edges)
            {
                running += delta;
                max = Math.Max(max, running);
            }
        }

        return max;
    }
}
