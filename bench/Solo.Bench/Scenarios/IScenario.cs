using System.Text.Json.Nodes;

namespace Solo.Bench.Scenarios;

/// <summary>One benchmark; it adds its figures to a JSON line that already names it and the backend.</summary>
internal interface IScenario
{
    /// <summary>The name given to <c>--scenario</c>.</summary>
    string Name { get; }

    Task RunAsync(ScenarioContext context, JsonObject report, CancellationToken cancellationToken);
}
