using Solo.Bench.Scenarios.Outbox;
using Solo.Bench.Scenarios.Raw;

namespace Solo.Bench.Scenarios;

/// <summary>The scenarios of each backend, in the order a full run prints them.</summary>
internal static class ScenarioCatalog
{
    /// <summary>
    /// Which scenarios apply where. The server backends run what their issue asks for: each full drain of
    /// 100,000 tasks or contention run costs a minute there, so the in-process scenarios stay with memory.
    /// </summary>
    private static readonly Dictionary<string, IScenario[]> ByBackend = new(StringComparer.Ordinal)
    {
        ["memory"] =
        [
            new UniqueEnqueueScenario(),
            new DrainScenario(),
            new ContentionScenario("contention", UniqueMode.Coalesce),
            new ContentionScenario("contention-until-executed", UniqueMode.UntilExecuted),
        ],
        ["sqlite"] = [new UniqueEnqueueScenario(), new ProcessDrainScenario(), new OutboxScenario(b => new SqliteAppDatabase(Path.ChangeExtension(b.SqlitePath!, ".app.db")))],
        ["redis"] = [new UniqueEnqueueScenario(new RedisSetNxRawEnqueue())],
        ["rabbitmq-redis"] = [new UniqueEnqueueScenario(new RabbitMQPublishRawEnqueue()), new DrainScenario()],
        ["redis-streams"] = [new DrainScenario()],
        ["postgres"] = [new UniqueEnqueueScenario(), new OutboxScenario(b => new PostgresAppDatabase(b.Postgres!.Value.ConnectionString, b.Postgres.Value.TablePrefix))],
    };

    public static IEnumerable<string> AllNames => ByBackend.Values.SelectMany(s => s).Select(s => s.Name).Distinct();

    /// <summary>
    /// The scenarios of <paramref name="backend"/> named, in catalog order; all of them when none is named.
    /// </summary>
    public static IReadOnlyList<IScenario> Select(string backend, IReadOnlyList<string> names)
    {
        var unknown = names.Where(n => !AllNames.Contains(n)).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"unknown scenario '{string.Join("', '", unknown)}' (known: {string.Join(", ", AllNames)})");
        }

        var all = ByBackend[backend];
        return names.Count == 0 ? all : all.Where(s => names.Contains(s.Name)).ToArray();
    }
}
