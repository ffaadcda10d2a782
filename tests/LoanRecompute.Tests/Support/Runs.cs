namespace LoanRecompute.Tests.Support;

/// <summary>Waits on the runs table, where every process records its runs.</summary>
internal static class Runs
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    /// <summary>The first run that matches, waiting up to <paramref name="timeout"/>; null if none came.</summary>
    public static async Task<RecordedRun?> WaitForAsync(SampleDatabase database, Func<RecordedRun, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if ((await database.RunsAsync()).FirstOrDefault(match) is { } run)
            {
                return run;
            }

            await Task.Delay(Poll);
        }

        return null;
    }

    /// <summary>
    /// One of <paramref name="workers"/> that has a run open now, picked at random among those that do; null
    /// when none had one for <paramref name="timeout"/>. A kill meant to land mid-task waits on every worker
    /// rather than on one: a worker that has just started, or that the others beat to the few due tasks
    /// (Coalesce keeps a handful per loan, well under what three workers can run), may have nothing open
    /// for a while, and that says nothing about the queue.
    /// </summary>
    public static async Task<int?> WaitForAnyOpenAsync(SampleDatabase database, IReadOnlyList<SampleProcess> workers, Random random, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var open = (await database.RunsAsync()).Where(r => r.EndedAt is null).Select(r => r.Pid).ToHashSet();
            var busy = Enumerable.Range(0, workers.Count).Where(i => open.Contains(workers[i].Pid) && !workers[i].HasExited).ToList();
            if (busy.Count > 0)
            {
                return busy[random.Next(busy.Count)];
            }

            await Task.Delay(Poll);
        }

        return null;
    }

    /// <summary>A run of process <paramref name="pid"/> that has started and not ended, the newest first.</summary>
    public static async Task<RecordedRun?> WaitForOpenAsync(SampleDatabase database, int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var open = (await database.OpenRunsAsync(pid)).MaxBy(r => r.StartedAt);
            if (open is not null)
            {
                return open;
            }

            await Task.Delay(Poll);
        }

        return null;
    }
}
