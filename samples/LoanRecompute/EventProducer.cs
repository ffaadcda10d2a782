using Solo;

namespace LoanRecompute;

/// <summary>
/// Plays the web app: each event commits a version bump on a loan and then enqueues its recompute.
/// Events come in bursts of concurrent requests that often repeat a loan, with tiny pauses between,
/// so that new events keep landing on loans whose recompute is queued or running.
/// </summary>
internal sealed class EventProducer(ILoanStore loans, ISoloClient solo, EventPlan plan)
{
    private const int MaxBurst = 32;
    private const int MaxPauseMs = 2;

    // How long an event's enqueue is retried while the broker or lock store is unreachable: long enough
    // for a server restart, short enough that a server that is gone for good ends the command.
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    private long _produced;
    private long _enqueued;
    private long _duplicates;

    public long Produced => Interlocked.Read(ref _produced);

    public long Enqueued => Interlocked.Read(ref _enqueued);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public async Task ProduceAsync(CancellationToken cancellationToken)
    {
        // Only the plan (which loans, how many per burst, how long the pauses) is drawn here, on one
        // thread, so that a seed always gives the same event stream.
        var random = new Random(plan.Seed);
        var remaining = plan.Events;
        var burst = new List<int>(MaxBurst);
        while (remaining > 0)
        {
            burst.Clear();
            var size = Math.Min(remaining, random.Next(1, MaxBurst + 1));
            var loanId = random.Next(plan.Loans);
            for (var i = 0; i < size; i++)
            {
                // Half the time the next request is about the same loan: a payment and its fee, say.
                if (i > 0 && random.Next(2) == 0)
                {
                    loanId = random.Next(plan.Loans);
                }

                burst.Add(loanId);
            }

            await Task.WhenAll(burst.Select(id => Task.Run(() => HandleEventAsync(id, cancellationToken), cancellationToken)));
            remaining -= size;

            var pause = random.Next(MaxPauseMs + 1);
            if (pause > 0)
            {
                await Task.Delay(pause, cancellationToken);
            }
        }
    }

    private async Task HandleEventAsync(int loanId, CancellationToken cancellationToken)
    {
        EnqueueResult result;
        if (plan.Transactional)
        {
            // Bump and enqueue commit together; the outbox relay publishes after the commit.
            EnqueueResult? deferred = null;
            await loans.RecordEventAsync(
                loanId,
                async (transaction, ct) => deferred = await solo.EnqueueAsync(new RecomputeLoan(loanId), transaction: transaction, cancellationToken: ct),
                cancellationToken);
            result = deferred!;
        }
        else
        {
            // Commit first, then enqueue: a task that starts after this enqueue is bound to see the bump.
            await loans.RecordEventAsync(loanId, cancellationToken);
            result = await EnqueueAsync(loanId, cancellationToken);
        }

        Interlocked.Increment(ref result.Outcome == EnqueueOutcome.Duplicate ? ref _duplicates : ref _enqueued);
        Interlocked.Increment(ref _produced);
    }

    /// <summary>
    /// Enqueues until it succeeds. The bump is committed already, so giving up would leave the loan without a
    /// run that reads it. An enqueue that failed with <see cref="BackendUnavailableException"/> stored nothing
    /// (a failed publish releases the queue slot it took), so trying again cannot run the event twice beyond
    /// what uniqueness allows anyway.
    /// </summary>
    private async Task<EnqueueResult> EnqueueAsync(int loanId, CancellationToken cancellationToken)
    {
        var started = Environment.TickCount64;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await solo.EnqueueAsync(new RecomputeLoan(loanId), cancellationToken);
            }
            catch (BackendUnavailableException ex) when (Environment.TickCount64 - started < RetryFor.TotalMilliseconds)
            {
                await Console.Error.WriteLineAsync($"produce: enqueue of loan {loanId} failed (attempt {attempt}): {ex.Message}; retrying in {RetryDelay.TotalMilliseconds:0} ms");
                await Task.Delay(RetryDelay, cancellationToken);
            }
        }
    }
}
