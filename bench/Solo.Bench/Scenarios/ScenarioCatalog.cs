namespace Solo.Bench.Scenarios;

/// <summary>The scenarios, in the order a full run prints them.</summary>
internal static class ScenarioCatalog
{
    public static IReadOnlyList<IScenario> All { get; } =
    [
        new UniqueEnqueueScenario(),
        new DrainScenario(),
        new ContentionScenario("contention", UniqueMode.Coalesce),
        new ContentionScenario("contention-until-executed", UniqueMode.UntilExecuted),
    ];

    /// <summary>The scenarios named, in catalog order; all of them when none is named.</summary>
    public static IReadOnlyList<IScenario> Select(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return All;
        }

        var unknown = names.Where(n => All.All(s => s.Name != n)).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"unknown scenario '{string.Join("', '", unknown)}' (known: {string.Join(", ", All.Select(s => s.Name))})");
        }

        return All.Where(s => names.Contains(s.Name)).ToArray();
    }
}
