using System.Diagnostics;

namespace Solo.Bench.Measurement;

/// <summary>
/// Measures <see cref="ResourceUsage"/> over a window. Allocation per operation is the first thing to
/// look at when a path is slower than its baseline, and CPU time per operation is what to compare when
/// other processes share the machine and blur the wall clock.
/// </summary>
internal readonly struct ResourceMeter
{
    // A thrown exception costs microseconds; one per operation on a hot path is worth seeing.
    private static long s_exceptions;

    private readonly ResourceUsage _start;

    static ResourceMeter() => AppDomain.CurrentDomain.FirstChanceException += (_, _) => Interlocked.Increment(ref s_exceptions);

    private ResourceMeter(ResourceUsage start) => _start = start;

    /// <summary>
    /// Collects what earlier runs left, so that a run does not pay for its predecessor's garbage; call it
    /// before <see cref="Start"/>, outside the measured window.
    /// </summary>
    public static void CollectGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    public static ResourceMeter Start() => new(Now());

    /// <summary>What was used since <see cref="Start"/>.</summary>
    public ResourceUsage Stop()
    {
        var now = Now();
        return new ResourceUsage(now.Cpu - _start.Cpu, now.Bytes - _start.Bytes, now.Gen0 - _start.Gen0, now.Gen1 - _start.Gen1, now.Gen2 - _start.Gen2, now.Pause - _start.Pause, now.Exceptions - _start.Exceptions, now.JitMethods - _start.JitMethods);
    }

    private static ResourceUsage Now()
    {
        using var process = Process.GetCurrentProcess();
        return new ResourceUsage(process.TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), Interlocked.Read(ref s_exceptions), System.Runtime.JitInfo.GetCompiledMethodCount());
    }
}
