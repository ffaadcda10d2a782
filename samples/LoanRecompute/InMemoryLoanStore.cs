using System.Collections.Concurrent;

namespace LoanRecompute;

/// <summary>Loans in a dictionary; each loan's row is guarded by its own lock, as a database row would be.</summary>
internal sealed class InMemoryLoanStore : ILoanStore
{
    private readonly ConcurrentDictionary<int, Row> _rows = new();

    public ValueTask<long> RecordEventAsync(int loanId, CancellationToken cancellationToken)
    {
        var row = _rows.GetOrAdd(loanId, static _ => new Row());
        lock (row.Gate)
        {
            return ValueTask.FromResult(++row.Version);
        }
    }

    public ValueTask<long> GetVersionAsync(int loanId, CancellationToken cancellationToken)
    {
        if (!_rows.TryGetValue(loanId, out var row))
        {
            return ValueTask.FromResult(0L);
        }

        lock (row.Gate)
        {
            return ValueTask.FromResult(row.Version);
        }
    }

    public ValueTask SaveResultAsync(int loanId, long version, DateTimeOffset computedAt, CancellationToken cancellationToken)
    {
        var row = _rows.GetOrAdd(loanId, static _ => new Row());
        lock (row.Gate)
        {
            // Last writer wins, as a plain UPDATE would: a run that read an older version and finishes
            // after a newer run overwrites it. That is what per-key concurrency costs, and the
            // staleness figure is meant to show it rather than hide it.
            row.ResultVersion = version;
            row.ComputedAt = computedAt;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<LoanSnapshot>> GetLoansAsync(CancellationToken cancellationToken)
    {
        var loans = new List<LoanSnapshot>(_rows.Count);
        foreach (var (loanId, row) in _rows)
        {
            lock (row.Gate)
            {
                loans.Add(new LoanSnapshot(loanId, row.Version, row.ResultVersion, row.ComputedAt));
            }
        }

        loans.Sort(static (a, b) => a.LoanId.CompareTo(b.LoanId));
        return ValueTask.FromResult<IReadOnlyList<LoanSnapshot>>(loans);
    }

    private sealed class Row
    {
        public Lock Gate { get; } = new();

        public long Version { get; set; }

        public long? ResultVersion { get; set; }

        public DateTimeOffset? ComputedAt { get; set; }
    }
}
