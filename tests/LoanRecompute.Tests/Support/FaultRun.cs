using System.Globalization;

namespace LoanRecompute.Tests.Support;

/// <summary>What a fault of a <see cref="FaultScenario"/> works on and leaves behind for the checks after the run.</summary>
internal sealed class FaultRun(SampleDatabase database, SampleProcess[] workers, Func<int, SampleProcess> startWorker)
{
    public SampleDatabase Database { get; } = database;

    /// <summary>The workers now running; a fault that kills one puts its replacement in its place.</summary>
    public SampleProcess[] Workers { get; } = workers;

    /// <summary>Starts a worker with the given seed, in the test's process group.</summary>
    public Func<int, SampleProcess> StartWorker { get; } = startWorker;

    /// <summary>Runs cut off by a kill.</summary>
    public List<RecordedRun> Killed { get; } = [];

    /// <summary>When each killed worker was seen dead (Unix ms), by pid.</summary>
    public Dictionary<int, long> KilledAt { get; } = [];

    /// <summary>Enqueues the producers retried, known once they are done.</summary>
    public int ProducerRetries { get; set; }

    /// <summary>Checks that need the producers' outcome.</summary>
    public List<Action> AfterProduce { get; } = [];

    /// <summary>
    /// kill -9 of <c>Workers[index]</c> and a new worker with <paramref name="seed"/> in its place. Returns the
    /// runs the kill cut off mid-task (also added to <see cref="Killed"/>).
    /// </summary>
    /// <param name="index">The worker's place in <see cref="Workers"/>.</param>
    /// <param name="seed">The new worker's seed.</param>
    /// <param name="pausedAt">When the worker was paused (Unix ms, taken once SIGSTOP was sent), if it is paused now.</param>
    public async Task<IReadOnlyList<RecordedRun>> KillAndRestartAsync(int index, int seed, long? pausedAt = null)
    {
        var victim = Workers[index];

        // Taken before the signal: the killed run cannot have ended later than its process's death,
        // and its task can be redelivered only after that death (the consumer's connection closes with
        // the process) or after its lease, so this is a sound end for the killed run that never hides a
        // real overlap. A paused process ran nothing after its SIGSTOP: then that moment is the bound.
        var deadAt = pausedAt ?? Now();
        victim.Kill();

        // Verify, reading only the database, bounds a killed run's end by its worker's last heartbeat
        // plus two intervals (500 ms). RabbitMQ hands a killed consumer's messages to another one as soon
        // as the connection drops, well inside that bound, so the redelivered run (same task id,
        // reclaiming its own run slot) would count as overlapping the killed one although the killed
        // process was already gone. So the test records the moment it sent the signal as the worker's
        // stop: an upper bound of the killed run's end, tighter than the heartbeat's.
        KilledAt[victim.Pid] = deadAt;
        await Database.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"UPDATE workers SET stopped_at = {deadAt} WHERE pid = {victim.Pid} AND stopped_at IS NULL"));
        Workers[index] = StartWorker(seed);

        // The process is gone: a run of it that has not ended was cut off mid-task.
        var cut = await Database.OpenRunsAsync(victim.Pid);
        Killed.AddRange(cut);
        return cut;
    }

    /// <summary>The system clock in Unix ms, as the sample's processes write it.</summary>
    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
