using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Solo.Bench.Measurement;

/// <summary>Percentiles of Stopwatch tick intervals, by nearest rank (no interpolation between samples).</summary>
internal readonly record struct LatencyStats(int Samples, double P50Ms, double P99Ms, double MaxMs, double MeanMs)
{
    public static LatencyStats FromTicks(ReadOnlySpan<long> ticks)
    {
        if (ticks.IsEmpty)
        {
            return default;
        }

        var sorted = ticks.ToArray();
        Array.Sort(sorted);
        double sum = 0;
        foreach (var t in sorted)
        {
            sum += t;
        }

        return new LatencyStats(
            sorted.Length,
            ToMs(Rank(sorted, 0.50)),
            ToMs(Rank(sorted, 0.99)),
            ToMs(sorted[^1]),
            ToMs(sum / sorted.Length));
    }

    public JsonObject ToJson() => new()
    {
        ["samples"] = Samples,
        ["p50Ms"] = Report.Ms(P50Ms),
        ["p99Ms"] = Report.Ms(P99Ms),
        ["maxMs"] = Report.Ms(MaxMs),
        ["meanMs"] = Report.Ms(MeanMs),
    };

    private static long Rank(long[] sorted, double percentile) =>
        sorted[Math.Clamp((int)Math.Ceiling(percentile * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static double ToMs(double ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
