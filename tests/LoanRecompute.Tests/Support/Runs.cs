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
