using Microsoft.Extensions.Hosting;
using Solo;

namespace LoanRecompute;

/// <summary>
/// <c>loans.recompute</c>: records its run and reads the loan, works a little, stores a result stamped
/// with the version it read (fenced by the run's token) and closes its run. A run whose process dies in
/// between stays open in the runs table, which is how verify tells a killed run from one that ended.
/// </summary>
internal sealed class RecomputeLoanTask(ILoanStore loans, ExecutionMonitor monitor, WorkDuration duration, IHostApplicationLifetime host, TimeProvider time) : ITask<RecomputeLoan>
{
    /// <summary>The outcome of a run cancelled by the worker's shutdown: its task goes back to the queue, its slots kept.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The outcome of a run cancelled while the host was not stopping: Solo cancels a run whose lease it lost.</summary>
    public const string LeaseLost = "lease-lost";

    public const string Failed = "failed";

    public async Task RunAsync(RecomputeLoan args, TaskContext context, CancellationToken cancellationToken)
    {
        monitor.Started(args.LoanId);
        try
        {
            var run = await loans.StartRunAsync(args.LoanId, context.TaskId, context.Attempt, context.FencingToken, time.GetUtcNow(), cancellationToken);
            try
            {
                await Task.Delay(duration.Next(), time, cancellationToken);

                // A refused write is not a failure to retry: a run with a newer token has stored a result
                // already, and that run (or a later one) covers every event this one read. The lease is
                // checked last, inside the write's transaction: a process that was stopped learns there,
                // before its lease timer runs, that its redelivery may own the loan; and since the file
                // has one writer, a check that passes there proves no newer run had started.
                await loans.CompleteRunAsync(run, time.GetUtcNow(), context.ThrowIfLeaseLost, cancellationToken);
            }
            catch (Exception ex)
            {
                // Closed with its reason, so that an ended run is never taken for a killed one. The task
                // registers no timeout, so a cancellation is either shutdown's or a lost lease's; verify
                // needs to know which (a run that lost its lease no longer held its loan). Not cancellable:
                // the token that fired is usually the one this would get.
                var outcome = ex is not OperationCanceledException ? Failed
                    : host.ApplicationStopping.IsCancellationRequested ? Cancelled
                    : LeaseLost;
                await loans.AbandonRunAsync(run, outcome, time.GetUtcNow(), CancellationToken.None);
                throw;
            }
        }
        finally
        {
            monitor.Ended(args.LoanId);
        }
    }
}
