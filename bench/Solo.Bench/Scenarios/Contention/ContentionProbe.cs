using System.Collections.Concurrent;
using System.Diagnostics;
using Solo.Bench.Measurement;

namespace Solo.Bench.Scenarios.Contention;

/// <summary>
/// Checks the uniqueness promise on every event: never two runs of a key at once; for UntilExecuted
/// also never two of a key between publish and end. Also records, per key, the last enqueue and last
/// start (Coalesce promises a run that starts after every event) and which task ids ran.
/// </summary>
internal sealed class ContentionProbe(int keys, UniqueMode mode)
{
    private readonly int[] _running = new int[keys];
    private readonly int[] _queued = new int[keys];
    private readonly long[] _lastEnqueue = new long[keys];
    private readonly long[] _lastStart = new long[keys];
    private readonly ConcurrentDictionary<string, byte> _ran = new(StringComparer.Ordinal);
    private int _runningNow;
    private int _violations;
    private int _maxRunningPerKey;
    private int _maxQueuedPerKey;
    private int _executions;
    private int _doubleRuns;
    private long _lastEnd;
    private long _runTicks;

    public int RunningNow => Volatile.Read(ref _runningNow);

    public int Violations => Volatile.Read(ref _violations);

    public int MaxRunningPerKey => Volatile.Read(ref _maxRunningPerKey);

    public int MaxQueuedPerKey => Volatile.Read(ref _maxQueuedPerKey);

    public int Executions => Volatile.Read(ref _executions);

    public int DoubleRuns => Volatile.Read(ref _doubleRuns);

    public long LastEnd => Interlocked.Read(ref _lastEnd);

    /// <summary>How long a run took on average, task body only (the 0-2 ms sleep as the timer really served it).</summary>
    public double AverageRunMs => Executions == 0 ? 0 : Interlocked.Read(ref _runTicks) * 1000.0 / Stopwatch.Frequency / Executions;

    /// <summary>Called before the enqueue call: a run that starts after this covers the event.</summary>
    public void BeforeEnqueue(int key) => Volatile.Write(ref _lastEnqueue[key], Stopwatch.GetTimestamp());

    /// <summary>Called by middleware once the queue slot is taken, before the message is published.</summary>
    public void OnPublishing(int key)
    {
        if (mode != UniqueMode.UntilExecuted)
        {
            return;
        }

        // UntilExecuted holds the queue slot from here until after the run ends, so this count must stay at 1.
        var queued = Interlocked.Increment(ref _queued[key]);
        Atomic.Max(ref _maxQueuedPerKey, queued);
        if (queued > 1)
        {
            Interlocked.Increment(ref _violations);
        }
    }

    /// <returns>The start timestamp, to hand back to <see cref="OnEnd"/>.</returns>
    public long OnStart(ContentionArgs args, TaskContext context)
    {
        Interlocked.Increment(ref _runningNow);
        Interlocked.Increment(ref _executions);
        var running = Interlocked.Increment(ref _running[args.Key]);
        Atomic.Max(ref _maxRunningPerKey, running);
        if (running > 1)
        {
            Interlocked.Increment(ref _violations);
        }

        var now = Stopwatch.GetTimestamp();
        Atomic.Max(ref _lastStart[args.Key], now);
        if (!_ran.TryAdd(context.TaskId, 0))
        {
            Interlocked.Increment(ref _doubleRuns);
        }

        return now;
    }

    public void OnEnd(ContentionArgs args, long started)
    {
        Interlocked.Decrement(ref _running[args.Key]);
        if (mode == UniqueMode.UntilExecuted)
        {
            Interlocked.Decrement(ref _queued[args.Key]);
        }

        var now = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _runTicks, now - started);
        Atomic.Max(ref _lastEnd, now);
        Interlocked.Decrement(ref _runningNow);
    }

    /// <summary>Keys whose last event was followed by no start: an update lost for good.</summary>
    public int LostUpdates()
    {
        var lost = 0;
        for (var key = 0; key < _lastEnqueue.Length; key++)
        {
            var enqueued = Volatile.Read(ref _lastEnqueue[key]);
            if (enqueued != 0 && Volatile.Read(ref _lastStart[key]) <= enqueued)
            {
                lost++;
            }
        }

        return lost;
    }

    /// <summary>Accepted tasks that never ran.</summary>
    public int NeverRan(IEnumerable<string> accepted) => accepted.Count(id => !_ran.ContainsKey(id));
}
