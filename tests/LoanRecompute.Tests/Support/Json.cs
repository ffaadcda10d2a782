using System.Text.Json;

namespace LoanRecompute.Tests.Support;

/// <summary>The sample's one-line JSON outputs.</summary>
internal static class Json
{
    /// <summary>The fields of verify's line, in order: the first seven are its original contract, later ones are added at the end.</summary>
    public static readonly string[] VerifyFields =
        ["events", "executions", "lost", "staleResults", "maxConcurrentPerKey", "deadLettered", "locksLeft", "staleWritesRefused", "maxConcurrentPerKeyAllRuns"];

    /// <summary>The single line of <paramref name="stdout"/>, parsed; fails when there is not exactly one.</summary>
    public static JsonElement Line(string stdout)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    public static IReadOnlyList<string> Names(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();

    public static long Long(JsonElement element, string name) => element.GetProperty(name).GetInt64();
}
