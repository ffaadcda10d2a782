using Solo.Bench.Measurement;

namespace Solo.Bench.Scenarios.ProcessDrain;

/// <summary>The task starts that every worker process reports, gathered in the parent.</summary>
internal sealed class StartCollector(int capacity)
{
    private readonly long[] _latencies = new long[capacity];
    private int _started;
    private long _firstStart;
    private long _lastStart;

    public int Started => Volatile.Read(ref _started);

    public long FirstStart => Interlocked.Read(ref _firstStart);

    public long LastStart => Interlocked.Read(ref _lastStart);

    public ReadOnlySpan<long> Latencies => _latencies.AsSpan(0, Math.Min(Started, _latencies.Length));

    public void OnStart(long start, long latency)
    {
        var n = Interlocked.Increment(ref _started);
        if (n <= _latencies.Length)
        {
            _latencies[n - 1] = latency;
        }

        // Several readers (one per process) race here; the earliest and latest timestamps win, whatever the order.
        Interlocked.CompareExchange(ref _firstStart, start, 0);
        Atomic.Min(ref _firstStart, start);
        Atomic.Max(ref _lastStart, start);
    }

    /// <summary>Forgets the warm-up's starts; called when nothing is running.</summary>
    public void Reset()
    {
        Volatile.Write(ref _started, 0);
        Interlocked.Exchange(ref _firstStart, 0);
        Interlocked.Exchange(ref _lastStart, 0);
    }
}
