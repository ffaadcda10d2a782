using System.Text.Json.Nodes;

namespace Solo.Bench.Measurement;

/// <summary>Number formats shared by every JSON line, so figures of different scenarios compare at a glance.</summary>
internal static class Report
{
    public static double Ms(TimeSpan elapsed) => Math.Round(elapsed.TotalMilliseconds, 1);

    public static double Ms(double milliseconds) => Math.Round(milliseconds, 3);

    public static double Rate(long ops, TimeSpan elapsed) => elapsed > TimeSpan.Zero ? Math.Round(ops / elapsed.TotalSeconds) : 0;

    public static double Ratio(double value, double baseline) => baseline > 0 ? Math.Round(value / baseline, 3) : 0;

    /// <summary>Copies <paramref name="source"/>'s fields into <paramref name="target"/>, after the ones it has.</summary>
    public static void Merge(JsonObject target, JsonObject source)
    {
        foreach (var (name, value) in source)
        {
            target[name] = value?.DeepClone();
        }
    }

    /// <summary>Adds the fields every measured run has, in one order: ops, elapsedMs, opsPerSec.</summary>
    public static JsonObject Throughput(long ops, TimeSpan elapsed) => new()
    {
        ["ops"] = ops,
        ["elapsedMs"] = Ms(elapsed),
        ["opsPerSec"] = Rate(ops, elapsed),
    };
}
