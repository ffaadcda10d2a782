using System.Globalization;
using Solo;

namespace LoanRecompute;

/// <summary>Parses <c>simulate [options]</c>. Small and strict: an unknown option or a bad value is an error, never a guess.</summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: LoanRecompute simulate [options]

        Produces events on loans; each event bumps the loan's version and enqueues loans.recompute for it.
        Prints one JSON summary line on stdout; progress goes to stderr.

        Options:
          --events N           events to produce (default 10000)
          --loans N            loans the events are spread over (default 100)
          --mode MODE          until-executing | until-executed | while-executing | coalesce | throttle | debounce
                               (default coalesce)
          --window MS          throttle/debounce window in ms (default 50; ignored by the other modes)
          --concurrency N      worker concurrency (default 8)
          --task-ms MIN-MAX    simulated work per run in ms, or a single value (default 2-6)
          --reschedule-ms MS   delay before a task that met a running one retries (default 10)
          --seed N             seed of the event stream and work times (default 1)
          --drain-timeout S    seconds to wait for the queue to drain after the last event (default 30)
          -h, --help           show this text
        """;

    private static readonly Dictionary<string, UniqueMode> Modes = new(StringComparer.Ordinal)
    {
        ["until-executing"] = UniqueMode.UntilExecuting,
        ["until-executed"] = UniqueMode.UntilExecuted,
        ["while-executing"] = UniqueMode.WhileExecuting,
        ["coalesce"] = UniqueMode.Coalesce,
        ["throttle"] = UniqueMode.Throttle,
        ["debounce"] = UniqueMode.Debounce,
    };

    /// <summary>True when the arguments ask for help.</summary>
    public static bool IsHelp(IReadOnlyList<string> args) => args.Any(a => a is "-h" or "--help");

    /// <exception cref="UsageException">The command line is not valid.</exception>
    public static SimulationOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
        {
            throw new UsageException("missing command: expected 'simulate'");
        }

        if (args[0] != "simulate")
        {
            throw new UsageException($"unknown command '{args[0]}': expected 'simulate'");
        }

        var options = new SimulationOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var (name, value) = SplitOption(args, ref i);
            if (!seen.Add(name))
            {
                throw new UsageException($"option {name} is given more than once");
            }

            options = name switch
            {
                "--events" => options with { Events = ParseInt(name, value, min: 1) },
                "--loans" => options with { Loans = ParseInt(name, value, min: 1) },
                "--mode" => Modes.TryGetValue(value, out var mode)
                    ? options with { ModeName = value, Mode = mode }
                    : throw new UsageException($"invalid value '{value}' for --mode: expected one of {string.Join(", ", Modes.Keys)}"),
                "--window" => options with { WindowMs = ParseInt(name, value, min: 1) },
                "--concurrency" => options with { Concurrency = ParseInt(name, value, min: 1) },
                "--task-ms" => ParseRange(options, name, value),
                "--reschedule-ms" => options with { RescheduleMs = ParseInt(name, value, min: 1) },
                "--seed" => options with { Seed = ParseInt(name, value, min: int.MinValue) },
                "--drain-timeout" => options with { DrainTimeoutSeconds = ParseInt(name, value, min: 1) },
                _ => throw new UsageException($"unknown option '{name}'"),
            };
        }

        return options;
    }

    private static (string Name, string Value) SplitOption(IReadOnlyList<string> args, ref int i)
    {
        var arg = args[i];
        if (!arg.StartsWith("--", StringComparison.Ordinal))
        {
            throw new UsageException($"unexpected argument '{arg}'");
        }

        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0)
        {
            return (arg[..equals], arg[(equals + 1)..]);
        }

        if (!Known(arg))
        {
            throw new UsageException($"unknown option '{arg}'");
        }

        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new UsageException($"option {arg} needs a value");
        }

        i++;
        return (arg, args[i]);
    }

    // Checked before taking a value, so that "--bogus 5" reports the option rather than a stray "5".
    private static bool Known(string name) => name is "--events" or "--loans" or "--mode" or "--window" or "--concurrency"
        or "--task-ms" or "--reschedule-ms" or "--seed" or "--drain-timeout";

    private static int ParseInt(string name, string value, int min)
    {
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            throw new UsageException($"invalid value '{value}' for {name}: expected an integer");
        }

        if (parsed < min)
        {
            throw new UsageException($"invalid value '{value}' for {name}: must be at least {min}");
        }

        return parsed;
    }

    private static SimulationOptions ParseRange(SimulationOptions options, string name, string value)
    {
        var dash = value.IndexOf('-', StringComparison.Ordinal);
        var low = dash < 0 ? value : value[..dash];
        var high = dash < 0 ? value : value[(dash + 1)..];
        if (!int.TryParse(low, NumberStyles.None, CultureInfo.InvariantCulture, out var min)
            || !int.TryParse(high, NumberStyles.None, CultureInfo.InvariantCulture, out var max))
        {
            throw new UsageException($"invalid value '{value}' for {name}: expected MIN-MAX or N, in whole milliseconds");
        }

        if (min > max)
        {
            throw new UsageException($"invalid value '{value}' for {name}: MIN is larger than MAX");
        }

        return options with { TaskMinMs = min, TaskMaxMs = max };
    }
}
