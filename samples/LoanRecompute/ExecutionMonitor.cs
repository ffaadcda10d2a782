using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace LoanRecompute;

/// <summary>
/// Watches the recompute runs: how many ran, how many run now, and the most that ever ran at once
/// for one loan, which is the figure that shows whether a mode keeps runs of one key apart.
/// </summary>
internal sealed class ExecutionMonitor
{
    private readonly ConcurrentDictionary<int, StrongBox<int>> _runningPerLoan = new();
    private long _executions;
    private int _running;
    private int _maxConcurrentPerKey;

    public long Executions => Interlocked.Read(ref _executions);

    public int Running => Volatile.Read(ref _running);

    public int MaxConcurrentPerKey => Volatile.Read(ref _maxConcurrentPerKey);

    public void Started(int loanId)
    {
        Interlocked.Increment(ref _executions);
        Interlocked.Increment(ref _running);
        var counter = _runningPerLoan.GetOrAdd(loanId, static _ => new StrongBox<int>());
        var now = Interlocked.Increment(ref counter.Value);

        // Raise the maximum only if this run beats it; a plain write could lower it under a race.
        var seen = Volatile.Read(ref _maxConcurrentPerKey);
        while (now > seen)
        {
            var before = Interlocked.CompareExchange(ref _maxConcurrentPerKey, now, seen);
            if (before == seen)
            {
                break;
            }

            seen = before;
        }
    }

    public void Ended(int loanId)
    {
        Interlocked.Decrement(ref _runningPerLoan[loanId].Value);
        Interlocked.Decrement(ref _running);
    }
}
