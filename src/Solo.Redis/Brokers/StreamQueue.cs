using StackExchange.Redis;

namespace Solo.Redis.Brokers;

/// <summary>One queue as a <see cref="RedisStreamsBroker"/> instance sees it: its keys and its local state.</summary>
internal sealed class StreamQueue
{
    private TaskCompletionSource _published = NewSignal();
    private string _claimCursor = "0-0";
    private long _nextConsumerSweep = long.MinValue;

    public StreamQueue(string prefix, string name)
    {
        Name = name;
        // One hash tag for all keys of the queue; equal-length suffixes keep different queues' keys apart.
        var tagged = string.Concat(prefix, "{", name, "}:");
        Stream = tagged + "s";
        Delayed = tagged + "z";
        Dead = tagged + "d";
    }

    public string Name { get; }

    public RedisKey Stream { get; }

    public RedisKey Delayed { get; }

    public RedisKey Dead { get; }

    /// <summary>
    /// Where the next take-over of expired leases resumes in the group's pending list, so that long-held
    /// leases at its head do not hide expired ones behind them.
    /// </summary>
    public string ClaimCursor
    {
        get => Volatile.Read(ref _claimCursor);
        set => Volatile.Write(ref _claimCursor, value);
    }

    /// <summary>Completes at the next publish to this queue by this broker instance.</summary>
    /// <summary>True, once per <paramref name="intervalTicks"/>, for the caller that should sweep idle consumers now.</summary>
    public bool TakeConsumerSweep(long nowTimestamp, long intervalTicks)
    {
        var due = Interlocked.Read(ref _nextConsumerSweep);
        return nowTimestamp >= due && Interlocked.CompareExchange(ref _nextConsumerSweep, nowTimestamp + intervalTicks, due) == due;
    }

    public Task WhenPublished() => Volatile.Read(ref _published).Task;

    public void SignalPublished() => Interlocked.Exchange(ref _published, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
