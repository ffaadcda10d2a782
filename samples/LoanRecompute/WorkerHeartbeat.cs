using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoanRecompute;

/// <summary>
/// Keeps this process's row in the workers table fresh while it runs tasks. A killed process writes
/// nothing more, neither the end of its runs nor a heartbeat; its last heartbeat is then the best bound
/// verify has on when its unfinished runs stopped.
/// </summary>
internal sealed class WorkerHeartbeat(LoanDatabase database, WorkerIdentity worker, TimeProvider time, ILogger<WorkerHeartbeat> logger) : BackgroundService
{
    /// <summary>How often the heartbeat is written.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private const string InsertSql = """
        INSERT INTO workers (worker_id, pid, started_at, last_seen) VALUES ($worker, $pid, $now, $now)
        ON CONFLICT (worker_id) DO UPDATE SET last_seen = excluded.last_seen
        """;

    private const string BeatSql = "UPDATE workers SET last_seen = $now WHERE worker_id = $worker";

    private const string StoppedSql = "UPDATE workers SET last_seen = $now, stopped_at = $now WHERE worker_id = $worker";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the worker host starts, so that no run of this process is ever without its worker row.
        await database.WriteAsync(
            db => db.Command(InsertSql).Set("$worker", worker.Id).Set("$pid", worker.Pid).Set("$now", Now()).ExecuteNonQuery(),
            cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await database.WriteAsync(db => db.Command(StoppedSql).Set("$worker", worker.Id).Set("$now", Now()).ExecuteNonQuery(), cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await database.WriteAsync(db => db.Command(BeatSql).Set("$worker", worker.Id).Set("$now", Now()).ExecuteNonQuery(), stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A missed beat only makes verify's bound on this process's runs more cautious.
                    logger.LogWarning(ex, "Writing the heartbeat of worker {Worker} failed", worker.Id);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes the last word.
        }
    }

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();
}
