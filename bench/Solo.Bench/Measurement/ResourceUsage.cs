using System.Text.Json.Nodes;

namespace Solo.Bench.Measurement;

/// <summary>
/// CPU time, allocation, collections, GC pauses, exceptions thrown and methods JIT-compiled (tier-ups
/// included) in a measured window, process-wide. Many JIT compilations mean the window ran partly
/// unoptimized code: it measured warm-up, not the steady state.
/// </summary>
internal readonly record struct ResourceUsage(TimeSpan Cpu, long Bytes, int Gen0, int Gen1, int Gen2, TimeSpan Pause, long Exceptions, long JitMethods)
{
    public static ResourceUsage operator +(ResourceUsage a, ResourceUsage b) =>
        new(a.Cpu + b.Cpu, a.Bytes + b.Bytes, a.Gen0 + b.Gen0, a.Gen1 + b.Gen1, a.Gen2 + b.Gen2, a.Pause + b.Pause, a.Exceptions + b.Exceptions, a.JitMethods + b.JitMethods);

    /// <summary>The usage per operation where that means something, totals where it does not.</summary>
    public JsonObject ToJson(long ops) => new()
    {
        ["cpuUsPerOp"] = ops > 0 ? Math.Round(Cpu.TotalMicroseconds / ops, 2) : 0,
        ["bytesPerOp"] = ops > 0 ? Math.Round((double)Bytes / ops) : 0,
        ["gcGen0"] = Gen0,
        ["gcGen1"] = Gen1,
        ["gcGen2"] = Gen2,
        ["gcPauseMs"] = Report.Ms(Pause),
        ["exceptionsPerOp"] = ops > 0 ? Math.Round((double)Exceptions / ops, 3) : 0,
        ["jitMethods"] = JitMethods,
    };
}
