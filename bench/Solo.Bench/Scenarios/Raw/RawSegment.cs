namespace Solo.Bench.Scenarios.Raw;

/// <summary>A raw baseline's operation for one segment, the misses it counted, and what to close after it.</summary>
/// <param name="operation">As <see cref="Measurement.CallerLoop"/> calls it: returns the tasks' raw equivalents done.</param>
/// <param name="misses">Operations that did not take their slot (fresh keys never should).</param>
/// <param name="cleanup">Closes connections or deletes queues of the segment's own.</param>
internal sealed class RawSegment(Func<int, long, ValueTask<int>> operation, MissCounter misses, Func<ValueTask>? cleanup = null) : IAsyncDisposable
{
    public Func<int, long, ValueTask<int>> Operation { get; } = operation;

    public long Misses => misses.Value;

    public ValueTask DisposeAsync() => cleanup?.Invoke() ?? ValueTask.CompletedTask;
}
