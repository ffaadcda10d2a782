using System.Diagnostics;

namespace Solo.Bench.Measurement;

/// <summary>
/// Runs an operation from several callers until a deadline. Time-bound rather than count-bound, so a
/// slow backend does not make the run last minutes and a fast one does not end before it warms up.
/// </summary>
internal static class CallerLoop
{
    /// <param name="callers">Callers, each awaiting one operation at a time.</param>
    /// <param name="duration">How long callers keep starting operations.</param>
    /// <param name="yieldEvery">
    /// With a backend that completes synchronously a caller never gives its thread up, so with more
    /// callers than cores the first few would run alone to the deadline. Yielding every this many
    /// operations (0: never) makes them take turns, as awaiting real I/O would.
    /// </param>
    /// <param name="operation">
    /// Called with the caller's index and a sequence number unique across callers; returns the tasks it
    /// enqueued (or the raw equivalents), which is what is counted.
    /// </param>
    /// <param name="cancellationToken">Stops the callers early.</param>
    public static async Task<LoopResult> RunAsync(int callers, TimeSpan duration, int yieldEvery, Func<int, long, ValueTask<int>> operation, CancellationToken cancellationToken)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var counts = new long[callers];
        long deadline = 0;
        var loops = new Task[callers];
        for (var c = 0; c < callers; c++)
        {
            var caller = c;
            loops[c] = Task.Run(
                async () =>
                {
                    await go.Task;
                    // Disjoint ranges: callers need no shared counter, which would cost a contended cache line.
                    var sequence = (long)caller << 40;
                    long done = 0;
                    var calls = 0;
                    while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline) && !cancellationToken.IsCancellationRequested)
                    {
                        done += await operation(caller, sequence++);
                        if (yieldEvery > 0 && ++calls % yieldEvery == 0)
                        {
                            await Task.Yield();
                        }
                    }

                    counts[caller] = done;
                },
                cancellationToken);
        }

        ResourceMeter.CollectGarbage();
        var gc = ResourceMeter.Start();
        var start = Stopwatch.GetTimestamp();
        Volatile.Write(ref deadline, start + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        go.SetResult();
        await Task.WhenAll(loops);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var ops = counts.Sum();
        return new LoopResult(ops, elapsed, counts.Count(n => n > 0), gc.Stop());
    }
}
