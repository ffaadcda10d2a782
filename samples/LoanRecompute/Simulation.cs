using System.Globalization;
using Microsoft.Extensions.Options;
using Solo;
using Solo.Brokers;

namespace LoanRecompute;

/// <summary>Produces the events, reports progress, waits for the queue to drain and sums the run up.</summary>
internal sealed class Simulation(
    EventProducer producer,
    ExecutionMonitor monitor,
    ILoanStore loans,
    IBroker broker,
    IOptions<SoloOptions> soloOptions,
    SimulationOptions options,
    TimeProvider time)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(10);

    // Pending == 0 with nothing running already means done (a running task's message is in flight
    // until it is settled); the short quiet period is a margin against reading the two apart. It is
    // not counted in the elapsed time.
    private static readonly TimeSpan DrainQuiet = TimeSpan.FromMilliseconds(100);

    private readonly string _queue = soloOptions.Value.DefaultQueue;

    /// <exception cref="TimeoutException">The queue did not drain within the drain timeout.</exception>
    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        long drained;
        using var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = ReportProgressAsync(started, stopProgress.Token);
        try
        {
            await producer.ProduceAsync(cancellationToken);
            drained = await DrainAsync(cancellationToken);
        }
        finally
        {
            await stopProgress.CancelAsync();
            await progress;
        }

        var elapsed = time.GetElapsedTime(started, drained);
        var snapshot = await loans.GetLoansAsync(cancellationToken);
        return new RunSummary(
            options.Unique.ModeName,
            producer.Produced,
            producer.Enqueued,
            producer.Duplicates,
            monitor.Executions,
            monitor.MaxConcurrentPerKey,
            snapshot.Count(l => l.IsStale),
            (long)elapsed.TotalMilliseconds);
    }

    /// <returns>The timestamp from which the queue was seen empty with nothing running.</returns>
    private async Task<long> DrainAsync(CancellationToken cancellationToken)
    {
        var deadline = time.GetTimestamp() + (long)(options.DrainTimeoutSeconds * (double)time.TimestampFrequency);
        long? quietSince = null;
        while (true)
        {
            var counts = await broker.GetCountsAsync(_queue, cancellationToken);
            var now = time.GetTimestamp();
            if (counts.Pending == 0 && monitor.Running == 0)
            {
                quietSince ??= now;
                if (time.GetElapsedTime(quietSince.Value, now) >= DrainQuiet)
                {
                    if (counts.DeadLettered > 0)
                    {
                        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"warning: {counts.DeadLettered} task(s) were dead-lettered"));
                    }

                    return quietSince.Value;
                }
            }
            else
            {
                quietSince = null;
            }

            if (now >= deadline)
            {
                throw new TimeoutException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"the queue '{_queue}' did not drain within {options.DrainTimeoutSeconds} s after the last event: {counts.Ready} ready, {counts.Scheduled} scheduled, {counts.InFlight} in flight, {monitor.Running} running (raise --drain-timeout if the run is just slow)"));
            }

            await Task.Delay(DrainPoll, time, cancellationToken);
        }
    }

    private async Task ReportProgressAsync(long started, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(ProgressInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var counts = await broker.GetCountsAsync(_queue, cancellationToken);
                await Console.Error.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"[{time.GetElapsedTime(started).TotalSeconds,5:0.0}s] events {producer.Produced}/{options.Events}, enqueued {producer.Enqueued}, duplicates {producer.Duplicates}, executions {monitor.Executions}, running {monitor.Running}, pending {counts.Pending}"));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run is over (or interrupted): progress simply stops.
        }
    }
}
