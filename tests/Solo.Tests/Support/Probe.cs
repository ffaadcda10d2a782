using System.Collections.Concurrent;

namespace Solo.Tests.Support;

/// <summary>What the probe task does and what it saw; one per test, registered as a singleton.</summary>
public sealed class Probe
{
    private int _running;
    private int _maxRunning;

    /// <summary>The behaviour of each run; the default returns at once.</summary>
    public Func<Work, TaskContext, CancellationToken, Task> OnRun { get; set; } = (_, _, _) => Task.CompletedTask;

    public ConcurrentQueue<(Work Args, TaskContext Context)> Starts { get; } = new();

    public ConcurrentQueue<(Work Args, TaskContext Context)> Completions { get; } = new();

    public int MaxRunning => Volatile.Read(ref _maxRunning);

    public int Running => Volatile.Read(ref _running);

    internal async Task RunAsync(Work args, TaskContext context, CancellationToken cancellationToken)
    {
        var running = Interlocked.Increment(ref _running);
        InterlockedMax(ref _maxRunning, running);
        Starts.Enqueue((args, context));
        try
        {
            await OnRun(args, context, cancellationToken);
            Completions.Enqueue((args, context));
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
