namespace Solo.Bench.Scenarios.Raw;

/// <summary>A shared count that the callers of a segment add to.</summary>
internal sealed class MissCounter
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Add(long count) => Interlocked.Add(ref _value, count);
}
