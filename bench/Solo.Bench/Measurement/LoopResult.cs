using System.Text.Json.Nodes;

namespace Solo.Bench.Measurement;

/// <summary>What one or more <see cref="CallerLoop"/> runs did.</summary>
/// <param name="Ops">Operations counted (tasks enqueued, or their raw equivalents).</param>
/// <param name="Elapsed">From the start signal until the last caller returned, summed over runs.</param>
/// <param name="CallersWithOps">Callers that completed at least one operation (the fewest of any run).</param>
/// <param name="Resources">CPU, allocation and collections over the runs.</param>
internal sealed record LoopResult(long Ops, TimeSpan Elapsed, int CallersWithOps, ResourceUsage Resources)
{
    public double OpsPerSec => Report.Rate(Ops, Elapsed);

    public static LoopResult operator +(LoopResult a, LoopResult b) =>
        new(a.Ops + b.Ops, a.Elapsed + b.Elapsed, Math.Min(a.CallersWithOps, b.CallersWithOps), a.Resources + b.Resources);

    public JsonObject ToJson()
    {
        var json = Report.Throughput(Ops, Elapsed);
        Report.Merge(json, Resources.ToJson(Ops));
        return json;
    }
}
