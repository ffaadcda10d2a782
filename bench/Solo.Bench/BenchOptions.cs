namespace Solo.Bench;

/// <summary>The command line: <c>[--backend NAME|all] [--scenario NAME[,NAME...]] [--quick] [--redis HOST:PORT] [--rabbitmq URI]</c>.</summary>
internal sealed class BenchOptions
{
    public const string Usage =
        "usage: Solo.Bench [--backend NAME|all] [--scenario NAME[,NAME...]] [--quick] [--redis HOST:PORT] [--rabbitmq URI]\n" +
        "  --backend   memory, sqlite, redis, rabbitmq-redis, redis-streams, postgres, or all (default memory)\n" +
        "  --scenario  scenarios to run, repeatable or comma-separated (default: all that apply)\n" +
        "  --quick     every scenario about 10x smaller, for a smoke run\n" +
        "  --redis     a loopback Redis to use (default: a private one on a free port, stopped at the end)\n" +
        "  --rabbitmq  a loopback RabbitMQ URI to use (default: a private node on a free port, stopped at the end)";

    public string Backend { get; private set; } = "memory";

    /// <summary>Empty means every scenario.</summary>
    public IReadOnlyList<string> Scenarios => _scenarios;

    public bool Quick { get; private set; }

    public string? Redis { get; private set; }

    public string? RabbitMQ { get; private set; }

    public bool Help { get; private set; }

    private readonly List<string> _scenarios = [];

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--backend":
                    options.Backend = ValueOf(args, ref i);
                    break;
                case "--scenario":
                    options._scenarios.AddRange(ValueOf(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--redis":
                    options.Redis = ValueOf(args, ref i);
                    break;
                case "--rabbitmq":
                    options.RabbitMQ = ValueOf(args, ref i);
                    break;
                case "--quick":
                    options.Quick = true;
                    break;
                case "-h" or "--help":
                    options.Help = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{arg}'");
            }
        }

        return options;
    }

    private static string ValueOf(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{args[i]} needs a value");
        }

        return args[++i];
    }
}
