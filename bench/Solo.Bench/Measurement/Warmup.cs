using System.Diagnostics;
using System.Runtime;

namespace Solo.Bench.Measurement;

/// <summary>
/// Repeats a scenario's own workload until the JIT goes quiet. Tiered compilation first runs unoptimized
/// code, then instrumented code, and only seconds later the optimized code that an application runs in
/// its steady state; a fixed short warm-up leaves the measured window in the middle of that.
/// </summary>
internal static class Warmup
{
    // Each iteration builds a fresh service provider, whose resolvers compile a few dynamic methods of
    // their own; below this many compilations an iteration counts as quiet.
    private const int QuietCompilations = 40;

    // Each tier (unoptimized, instrumented, optimized) takes about an iteration to reach, so one quiet
    // iteration can be a lull between two of them; two in a row are not.
    private const int QuietIterations = 2;

    // Tier-up waits for a pause in new compilations before it counts calls, then compiles in the
    // background; leaving it this long between iterations lets it finish outside the measured window.
    private static readonly TimeSpan TierUpPause = TimeSpan.FromMilliseconds(150);

    /// <param name="what">Named in the progress note.</param>
    /// <param name="iteration">One short run of the workload to be measured.</param>
    /// <param name="minimum">Warm for at least this long.</param>
    /// <param name="maximum">Give up on quiet after this long; the measured window reports its compilations.</param>
    /// <param name="cancellationToken">Stops warming.</param>
    public static async Task RunAsync(string what, Func<Task> iteration, TimeSpan minimum, TimeSpan maximum, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var iterations = 0;
        var quiet = 0;
        long compiled;
        TimeSpan elapsed;
        while (true)
        {
            var before = JitInfo.GetCompiledMethodCount();
            await iteration();
            await Task.Delay(TierUpPause, cancellationToken);
            iterations++;
            compiled = JitInfo.GetCompiledMethodCount() - before;
            elapsed = Stopwatch.GetElapsedTime(start);
            quiet = compiled <= QuietCompilations ? quiet + 1 : 0;
            if ((elapsed >= minimum && quiet >= QuietIterations) || elapsed >= maximum)
            {
                break;
            }
        }

        Console.Error.WriteLine($"[bench] {what}: warm after {iterations} iterations, {elapsed.TotalSeconds:0.0} s; the last compiled {compiled} methods");
    }
}
