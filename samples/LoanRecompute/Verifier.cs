using System.Globalization;
using Microsoft.Extensions.Options;
using Solo;
using Solo.Brokers;
using Solo.Locks;
using Solo.Outbox;

namespace LoanRecompute;

/// <summary>
/// Checks, from the database alone, what every process together did: waits until the queue is drained,
/// then reads the loans, their results, the runs and the locks left.
/// </summary>
/// <remarks>
/// <para>
/// Drained: the broker's counts alone cannot say it for every broker. RabbitMQ reports only this
/// process's own unacknowledged deliveries as in flight, so a task that a worker holds, prefetched or
/// running, is in none of the counts verify reads. The runs table fills that gap: a held task is either
/// running, which shows as a run without an end whose worker still beats its heart, or about to start,
/// which takes a worker milliseconds (and a task that meets a running one goes back to the delay queues,
/// which count as scheduled). A worker that dies returns its deliveries to the queue at once, where they
/// count as ready. So drained means: nothing ready or scheduled (or in flight, where the broker sees it),
/// no run of a live worker open, and no run starting or ending, all for <see cref="Quiet"/> on end.
/// Tasks held longer than that without starting (a worker cut off from the lock store, say) could
/// slip through; verify is meant to be run once the faults are over.
/// </para>
/// <para>
/// Lost: a loan is lost when no run that succeeded read its final version. The version is the clock here:
/// each event commits a bump before it enqueues, and a run reads the version in the same statement that
/// records its start, so a run that read the final version started after the last event, and one that
/// read less started before it. Runs that failed, were cancelled or were killed do not count: their result
/// never reached the results table.
/// </para>
/// <para>
/// Concurrency: a run holds its loan from its start to its end. A run without an end was killed (a run
/// that fails or is cancelled records its end): it stopped when its process died, which is after the
/// process's last heartbeat and, the heartbeat being due every <see cref="WorkerHeartbeat.Interval"/>,
/// most likely before two more intervals passed; that later bound is used, which can only overstate
/// overlap. A run whose process left no heartbeat at all is taken to run forever, so any later run of its
/// loan counts as overlapping it: verify errs towards failing.
/// </para>
/// <para>
/// Only runs that held their lease count towards <see cref="VerifyReport.MaxConcurrentPerKey"/>; see there
/// for how the runs table tells them apart. <see cref="VerifyReport.MaxConcurrentPerKeyAllRuns"/> counts
/// every run, for diagnosis.
/// </para>
/// </remarks>
internal sealed class Verifier(LoanDatabase database, IBroker broker, ILockStore locks, IOutboxStore outbox, IOptions<SoloOptions> soloOptions, TimeProvider time)
{
    // Pending == 0 can be read between a producer's bursts, between a task's ack and the release of its
    // locks, or while a rescheduled message moves from a delay queue to the work queue (two counts read
    // one after the other); only a queue that stays empty, with no run moving, this long counts as drained.
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private const string EventsSql = "SELECT COALESCE(SUM(version), 0) FROM loans";

    private const string ExecutionsSql = "SELECT COUNT(*) FROM runs";

    private const string LostSql = $"""
        SELECT COUNT(*) FROM loans l
        WHERE NOT EXISTS (
            SELECT 1 FROM runs r
            WHERE r.loan_id = l.loan_id AND r.outcome = '{SqliteLoanStore.Succeeded}' AND r.version_read >= l.version)
        """;

    private const string StaleSql = """
        SELECT COUNT(*) FROM loans l LEFT JOIN results s ON s.loan_id = l.loan_id
        WHERE s.version IS NULL OR s.version < l.version
        """;

    private const string RunsSql = """
        SELECT r.loan_id, r.started_at, r.ended_at, w.stopped_at, w.last_seen, r.outcome
        FROM runs r LEFT JOIN workers w ON w.worker_id = r.worker_id
        """;

    private const string StaleWritesSql = $"SELECT COUNT(*) FROM runs WHERE outcome = '{SqliteLoanStore.StaleWriteRefused}'";

    // Open runs of workers that are alive: stopped workers and those whose heartbeat is late (killed) do not count.
    private const string LiveOpenRunsSql = """
        SELECT COUNT(*) FROM runs r JOIN workers w ON w.worker_id = r.worker_id
        WHERE r.ended_at IS NULL AND w.stopped_at IS NULL AND w.last_seen >= $since
        """;

    // Grows with every start and every end of a run: unchanged means no run moved in between.
    private const string RunProgressSql = "SELECT COUNT(*) + COUNT(ended_at) FROM runs";

    private readonly string _queue = soloOptions.Value.DefaultQueue;

    /// <summary>Runs without an end: killed mid-run. Set by <see cref="VerifyAsync"/>.</summary>
    public int UnfinishedRuns { get; private set; }

    /// <exception cref="TimeoutException">The queue did not drain in time.</exception>
    public async Task<VerifyReport> VerifyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var counts = await WaitForDrainAsync(timeout, cancellationToken);
        var (events, executions, lost, stale, staleWrites, intervals) = await database.ReadAsync(ReadLoans, cancellationToken);
        var locksLeft = 0;
        await foreach (var unused in locks.ListAsync(string.Empty, cancellationToken))
        {
            locksLeft++;
        }

        return new VerifyReport(
            events,
            executions,
            lost,
            stale,
            RunInterval.MaxOverlapPerLoan(intervals.Where(r => r.HeldLease)),
            counts.DeadLettered,
            locksLeft,
            staleWrites,
            RunInterval.MaxOverlapPerLoan(intervals));
    }

    private async Task<QueueCounts> WaitForDrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        long? quietSince = null;
        var progress = -1L;
        while (true)
        {
            var counts = await broker.GetCountsAsync(_queue, cancellationToken);

            // A committed enqueue still in the outbox is pending too: a relay has yet to publish it.
            var outboxed = await outbox.CountAsync(cancellationToken);
            var (liveOpen, moved) = await database.ReadAsync(ReadRunActivity, cancellationToken);
            var now = time.GetTimestamp();
            var still = moved == progress;
            progress = moved;
            if (counts.Pending == 0 && outboxed == 0 && liveOpen == 0 && still)
            {
                quietSince ??= now;
                if (time.GetElapsedTime(quietSince.Value, now) >= Quiet)
                {
                    return counts;
                }
            }
            else
            {
                quietSince = null;
            }

            if (time.GetElapsedTime(started, now) >= timeout)
            {
                throw new TimeoutException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"the queue '{_queue}' did not drain within {timeout.TotalSeconds:0} s: {counts.Ready} ready, {counts.Scheduled} scheduled, {counts.InFlight} in flight, {liveOpen} run(s) of live workers open (are workers running on this file? raise --timeout if they are just slow)"));
            }

            await Task.Delay(Poll, time, cancellationToken);
        }
    }

    private (long LiveOpen, long Progress) ReadRunActivity(LoanDatabase db)
    {
        var since = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)(2 * WorkerHeartbeat.Interval.TotalMilliseconds);
        var liveOpen = (long)db.Command(LiveOpenRunsSql).Set("$since", since).ExecuteScalar()!;
        var progress = (long)db.Command(RunProgressSql).ExecuteScalar()!;
        return (liveOpen, progress);
    }

    private (long Events, long Executions, int Lost, int Stale, long StaleWrites, List<RunInterval> Intervals) ReadLoans(LoanDatabase db)
    {
        var events = (long)db.Command(EventsSql).ExecuteScalar()!;
        var executions = (long)db.Command(ExecutionsSql).ExecuteScalar()!;
        var lost = (int)(long)db.Command(LostSql).ExecuteScalar()!;
        var stale = (int)(long)db.Command(StaleSql).ExecuteScalar()!;
        var staleWrites = (long)db.Command(StaleWritesSql).ExecuteScalar()!;
        var intervals = new List<RunInterval>();
        var unfinished = 0;
        var slack = (long)(2 * WorkerHeartbeat.Interval.TotalMilliseconds);
        using (var reader = db.Command(RunsSql).ExecuteReader())
        {
            while (reader.Read())
            {
                var start = reader.GetInt64(1);
                long end;
                if (!reader.IsDBNull(2))
                {
                    end = reader.GetInt64(2);
                }
                else
                {
                    unfinished++;
                    end = !reader.IsDBNull(3) ? reader.GetInt64(3)
                        : !reader.IsDBNull(4) ? reader.GetInt64(4) + slack
                        : long.MaxValue;

                    // A killed run held its loan for a moment at least, even if its heartbeat was late.
                    end = Math.Max(end, start + 1);
                }

                var heldLease = reader.IsDBNull(5) || !LostItsLease(reader.GetString(5));
                intervals.Add(new RunInterval(reader.GetInt32(0), start, end, heldLease));
            }
        }

        UnfinishedRuns = unfinished;
        return (events, executions, lost, stale, staleWrites, intervals);
    }

    // The two outcomes that prove a run no longer held its lease when it ended; see VerifyReport.MaxConcurrentPerKey.
    private static bool LostItsLease(string outcome) => outcome is SqliteLoanStore.StaleWriteRefused or RecomputeLoanTask.LeaseLost;
}
