using System.Diagnostics;
using System.Threading.Channels;
using Solo.Bench.Measurement;

namespace Solo.Bench.Scenarios.Drain;

/// <summary>
/// Records each run's enqueue-to-start latency and the first start and last end, and tells the feeder
/// which key started, so it can enqueue that key's next round.
/// </summary>
internal sealed class DrainProbe(int capacity)
{
    private readonly long[] _latencies = new long[capacity];
    private readonly Channel<DrainArgs> _started = Channel.CreateUnbounded<DrainArgs>(new UnboundedChannelOptions { SingleReader = true });
    private int _executed;
    private long _firstStart;
    private long _lastEnd;

    public ChannelReader<DrainArgs> Started => _started.Reader;

    public int Executed => Volatile.Read(ref _executed);

    public long FirstStart => Interlocked.Read(ref _firstStart);

    public long LastEnd => Interlocked.Read(ref _lastEnd);

    /// <summary>Enqueue-to-start intervals in Stopwatch ticks, one per run.</summary>
    public ReadOnlySpan<long> Latencies => _latencies.AsSpan(0, Math.Min(Executed, _latencies.Length));

    public void OnRun(DrainArgs args)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.CompareExchange(ref _firstStart, now, 0);
        var n = Interlocked.Increment(ref _executed);
        if (n <= _latencies.Length)
        {
            _latencies[n - 1] = now - args.EnqueuedTicks;
        }

        _started.Writer.TryWrite(args);
        Atomic.Max(ref _lastEnd, Stopwatch.GetTimestamp());
    }
}
