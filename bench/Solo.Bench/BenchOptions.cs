namespace Solo.Bench;

/// <summary>The command line: <c>[--backend NAME] [--scenario NAME[,NAME...]] [--quick]</c>.</summary>
internal sealed class BenchOptions
{
    public const string Usage =
        "usage: Solo.Bench [--backend NAME] [--scenario NAME[,NAME...]] [--quick]\n" +
        "  --backend   the broker and lock store to measure (default memory)\n" +
        "  --scenario  scenarios to run, repeatable or comma-separated (default: all)\n" +
        "  --quick     every scenario about 10x smaller, for a smoke run";

    public string Backend { get; private set; } = "memory";

    /// <summary>Empty means every scenario.</summary>
    public IReadOnlyList<string> Scenarios => _scenarios;

    public bool Quick { get; private set; }

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
