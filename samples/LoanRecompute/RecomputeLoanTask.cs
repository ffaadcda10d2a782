using Solo;

namespace LoanRecompute;

/// <summary>
/// <c>loans.recompute</c>: records its run and reads the loan, works a little, stores a result stamped
/// with the version it read and closes its run. A run whose process dies in between stays open in the
/// runs table, which is how verify tells a killed run from one that ended.
/// </summary>
internal sealed class RecomputeLoanTask(ILoanStore loans, ExecutionMonitor monitor, WorkDuration duration, TimeProvider time) : ITask<RecomputeLoan>
{
    public async Task RunAsync(RecomputeLoan args, TaskContext context, CancellationToken cancellationToken)
    {
        monitor.Started(args.LoanId);
        try
        {
            var run = await loans.StartRunAsync(args.LoanId, context.TaskId, context.Attempt, context.FencingToken, time.GetUtcNow(), cancellationToken);
            try
            {
                await Task.Delay(duration.Next(), time, cancellationToken);
                await loans.CompleteRunAsync(run, time.GetUtcNow(), cancellationToken);
            }
            catch (Exception ex)
            {
                // Closed with its reason, so that an ended run is never taken for a killed one. Not
                // cancellable: the token that fired is usually the one this would get.
                await loans.AbandonRunAsync(run, ex is OperationCanceledException ? "cancelled" : "failed", time.GetUtcNow(), CancellationToken.None);
                throw;
            }
        }
        finally
        {
            monitor.Ended(args.LoanId);
        }
    }
}
