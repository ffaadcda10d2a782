using Solo;

namespace LoanRecompute;

/// <summary><c>loans.recompute</c>: reads the loan, works a little, stores a result stamped with the version it read.</summary>
internal sealed class RecomputeLoanTask(ILoanStore loans, ExecutionMonitor monitor, WorkDuration duration, TimeProvider time) : ITask<RecomputeLoan>
{
    public async Task RunAsync(RecomputeLoan args, TaskContext context, CancellationToken cancellationToken)
    {
        monitor.Started(args.LoanId);
        try
        {
            var version = await loans.GetVersionAsync(args.LoanId, cancellationToken);
            await Task.Delay(duration.Next(), time, cancellationToken);
            await loans.SaveResultAsync(args.LoanId, version, time.GetUtcNow(), cancellationToken);
        }
        finally
        {
            monitor.Ended(args.LoanId);
        }
    }
}
