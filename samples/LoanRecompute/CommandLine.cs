using System.Globalization;

namespace LoanRecompute;

/// <summary>
/// Parses <c>COMMAND [options]</c>. Small and strict: an unknown option or a bad value is an error, never a
/// guess. Each command has a table of its options; the backend options (<c>--db</c>) join every table from
/// one place, so that a later backend option reaches all commands at once.
/// </summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: LoanRecompute COMMAND [options]

        Loans receive events; each event bumps the loan's version (commit) and then enqueues
        loans.recompute for it (enqueue). The task reads the loan, works a little and stores a result
        stamped with the version it read. The loans (and the mode) always live in the SQLite file; the
        queue and the locks do too unless --broker and --locks put them elsewhere.

        Commands:
          simulate   one process plays producer and workers, waits for the queue to drain and prints
                     one JSON summary line on stdout; progress goes to stderr
          worker     runs loans.recompute from the database until stopped (Ctrl+C or SIGTERM)
          produce    records events and enqueues their recomputes, then exits; prints one JSON line
          verify     waits for the queue to drain, checks every loan and prints one JSON line; exits 0
                     only when nothing was lost or stale, no two runs of a loan overlapped and no lock is left

        Options of every command:
          --db PATH            the SQLite file (required, except for simulate, which uses a temporary file
                               that it deletes afterwards); it holds the loans whatever the backends
          --broker NAME        where tasks wait: sqlite (in the --db file), redis (Redis Streams), rabbitmq
                               or postgres (default sqlite)
          --locks NAME         where unique locks live: sqlite (in the --db file), redis or postgres
                               (default sqlite)
          --redis CONFIG       the Redis server, a StackExchange.Redis configuration string such as
                               127.0.0.1:6379 or host:port,password=... (default 127.0.0.1:6379); only
                               with --broker redis or --locks redis
          --rabbitmq URI       the RabbitMQ server, amqp://user:password@host:port/vhost (default
                               amqp://guest:guest@127.0.0.1:5672/); only with --broker rabbitmq
          --postgres CONN      the PostgreSQL database of Solo's tables, an Npgsql connection string such
                               as Host=127.0.0.1;Port=5432;Username=postgres;Database=solo (the default);
                               only with --broker postgres or --locks postgres. The loans stay in --db
        Every process that shares a --db file must name the same backends and servers.

        The mode belongs to the database: the first produce, worker or simulate that runs against a file
        stores its mode and window there; a later command that names another one is refused, and one that
        names none uses the stored one. A worker started before any mode is stored waits for it.

        simulate:
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

        worker:
          --mode MODE, --window MS   as for simulate (default: the database's)
          --concurrency N      tasks run at once (default 8)
          --task-ms MIN-MAX    simulated work per run in ms (default 2-6)
          --reschedule-ms MS   delay before a task that met a running one retries (default 10)
          --lease S            the broker's delivery lease in seconds: a killed worker's tasks are
                               delivered again after it (default 30)
          --run-lease S        the lease of a running task's lock in seconds (default 30)
          --seed N             seed of the work times (default 1)

        produce:
          --events N           events to produce (required)
          --loans N            loans the events are spread over (required)
          --mode MODE, --window MS   as for simulate (default: the database's, else coalesce and 50)
          --seed N             seed of the event stream (default 1)
          --transactional      each event bumps its loan and enqueues in one transaction (Solo's
                               outbox); the recompute is published after the commit, even if this
                               process dies right after it. Waits for the outbox to empty before exiting

        verify:
          --timeout S          seconds to wait for the queue to drain (default 60); exit 1 when it does not

        -h, --help             show this text
        """;

    private const string Commands = "simulate, worker, produce, verify";

    // Options that take no value: present means true.
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "--transactional" };

    /// <summary>True when the arguments ask for help.</summary>
    public static bool IsHelp(IReadOnlyList<string> args) => args.Any(a => a is "-h" or "--help");

    /// <exception cref="UsageException">The command line is not valid.</exception>
    public static CommandOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
        {
            throw new UsageException($"missing command: expected one of {Commands}");
        }

        return args[0] switch
        {
            "simulate" => ParseOptions(args, new SimulationOptions(), SimulateOptions, requireDb: false),
            "worker" => ParseOptions(args, new WorkerOptions(), WorkerOptionTable, requireDb: true),
            "produce" => ParseOptions(args, new ProduceOptions(), ProduceOptionTable, requireDb: true, "--events", "--loans"),
            "verify" => ParseOptions(args, new VerifyOptions(), VerifyOptionTable, requireDb: true),
            _ => throw new UsageException($"unknown command '{args[0]}': expected one of {Commands}"),
        };
    }

    private static readonly Dictionary<string, Func<SimulationOptions, string, string, SimulationOptions>> SimulateOptions = WithBackend(
        new Dictionary<string, Func<SimulationOptions, string, string, SimulationOptions>>(StringComparer.Ordinal)
        {
            ["--events"] = (o, n, v) => o with { Events = ParseInt(n, v, min: 1) },
            ["--loans"] = (o, n, v) => o with { Loans = ParseInt(n, v, min: 1) },
            ["--mode"] = (o, n, v) => o with { Unique = o.Unique with { ModeName = ParseMode(n, v) } },
            ["--window"] = (o, n, v) => o with { Unique = o.Unique with { WindowMs = ParseInt(n, v, min: 1) } },
            ["--concurrency"] = (o, n, v) => o with { Concurrency = ParseInt(n, v, min: 1) },
            ["--task-ms"] = (o, n, v) => ParseRange(n, v) switch { var (min, max) => o with { TaskMinMs = min, TaskMaxMs = max } },
            ["--reschedule-ms"] = (o, n, v) => o with { RescheduleMs = ParseInt(n, v, min: 1) },
            ["--seed"] = (o, n, v) => o with { Seed = ParseInt(n, v, min: int.MinValue) },
            ["--drain-timeout"] = (o, n, v) => o with { DrainTimeoutSeconds = ParseInt(n, v, min: 1) },
        });

    private static readonly Dictionary<string, Func<WorkerOptions, string, string, WorkerOptions>> WorkerOptionTable = WithBackend(
        new Dictionary<string, Func<WorkerOptions, string, string, WorkerOptions>>(StringComparer.Ordinal)
        {
            ["--mode"] = (o, n, v) => o with { Requested = o.Requested with { ModeName = ParseMode(n, v) } },
            ["--window"] = (o, n, v) => o with { Requested = o.Requested with { WindowMs = ParseInt(n, v, min: 1) } },
            ["--concurrency"] = (o, n, v) => o with { Concurrency = ParseInt(n, v, min: 1) },
            ["--task-ms"] = (o, n, v) => ParseRange(n, v) switch { var (min, max) => o with { TaskMinMs = min, TaskMaxMs = max } },
            ["--reschedule-ms"] = (o, n, v) => o with { RescheduleMs = ParseInt(n, v, min: 1) },
            ["--lease"] = (o, n, v) => o with { LeaseSeconds = ParseInt(n, v, min: 1) },
            ["--run-lease"] = (o, n, v) => o with { RunLeaseSeconds = ParseInt(n, v, min: 1) },
            ["--seed"] = (o, n, v) => o with { Seed = ParseInt(n, v, min: int.MinValue) },
        });

    private static readonly Dictionary<string, Func<ProduceOptions, string, string, ProduceOptions>> ProduceOptionTable = WithBackend(
        new Dictionary<string, Func<ProduceOptions, string, string, ProduceOptions>>(StringComparer.Ordinal)
        {
            ["--events"] = (o, n, v) => o with { Events = ParseInt(n, v, min: 1) },
            ["--loans"] = (o, n, v) => o with { Loans = ParseInt(n, v, min: 1) },
            ["--mode"] = (o, n, v) => o with { Requested = o.Requested with { ModeName = ParseMode(n, v) } },
            ["--window"] = (o, n, v) => o with { Requested = o.Requested with { WindowMs = ParseInt(n, v, min: 1) } },
            ["--seed"] = (o, n, v) => o with { Seed = ParseInt(n, v, min: int.MinValue) },
            ["--transactional"] = (o, n, v) => o with { Transactional = ParseFlag(n, v) },
        });

    private static readonly Dictionary<string, Func<VerifyOptions, string, string, VerifyOptions>> VerifyOptionTable = WithBackend(
        new Dictionary<string, Func<VerifyOptions, string, string, VerifyOptions>>(StringComparer.Ordinal)
        {
            ["--timeout"] = (o, n, v) => o with { TimeoutSeconds = ParseInt(n, v, min: 1) },
        });

    // The one place where backend options are defined; every command's table gets them.
    private static Dictionary<string, Func<T, string, string, T>> WithBackend<T>(Dictionary<string, Func<T, string, string, T>> table)
        where T : CommandOptions
    {
        table["--db"] = (o, n, v) => (T)o.WithBackend(o.Backend with { DbPath = ParsePath(n, v) });
        table["--broker"] = (o, n, v) => (T)o.WithBackend(o.Backend with { Broker = ParseChoice(n, v, "sqlite", "redis", "rabbitmq", "postgres") });
        table["--locks"] = (o, n, v) => (T)o.WithBackend(o.Backend with { Locks = ParseChoice(n, v, "sqlite", "redis", "postgres") });
        table["--redis"] = (o, n, v) => (T)o.WithBackend(o.Backend with { Redis = ParseRedis(n, v) });
        table["--rabbitmq"] = (o, n, v) => (T)o.WithBackend(o.Backend with { RabbitMQ = ParseAmqpUri(n, v) });
        table["--postgres"] = (o, n, v) => (T)o.WithBackend(o.Backend with { Postgres = ParsePostgres(n, v) });
        return table;
    }

    private static T ParseOptions<T>(IReadOnlyList<string> args, T options, Dictionary<string, Func<T, string, string, T>> table, bool requireDb, params string[] required)
        where T : CommandOptions
    {
        var command = args[0];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var (name, value) = SplitOption(args, command, table, ref i);
            if (!seen.Add(name))
            {
                throw new UsageException($"option {name} is given more than once");
            }

            options = table[name](options, name, value);
        }

        foreach (var name in requireDb ? required.Prepend("--db") : required)
        {
            if (!seen.Contains(name))
            {
                throw new UsageException($"{command} needs option {name}");
            }
        }

        // A server option that no chosen backend uses is a mistake (a forgotten --broker, say), not something to ignore.
        if (options.Backend.Redis is not null && !options.Backend.UsesRedis)
        {
            throw new UsageException("option --redis needs --broker redis or --locks redis");
        }

        if (options.Backend.RabbitMQ is not null && options.Backend.Broker != "rabbitmq")
        {
            throw new UsageException("option --rabbitmq needs --broker rabbitmq");
        }

        if (options.Backend.Postgres is not null && !options.Backend.UsesPostgres)
        {
            throw new UsageException("option --postgres needs --broker postgres or --locks postgres");
        }

        return options;
    }

    private static (string Name, string Value) SplitOption<T>(IReadOnlyList<string> args, string command, Dictionary<string, Func<T, string, string, T>> table, ref int i)
    {
        var arg = args[i];
        if (!arg.StartsWith("--", StringComparison.Ordinal))
        {
            throw new UsageException($"unexpected argument '{arg}'");
        }

        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        var name = equals > 0 ? arg[..equals] : arg;

        // Checked before taking a value, so that "--bogus 5" reports the option rather than a stray "5".
        if (!table.ContainsKey(name))
        {
            throw new UsageException($"unknown option '{name}' for {command}");
        }

        if (equals > 0)
        {
            return (name, arg[(equals + 1)..]);
        }

        if (Flags.Contains(name))
        {
            return (name, "true");
        }

        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new UsageException($"option {arg} needs a value");
        }

        i++;
        return (arg, args[i]);
    }

    private static bool ParseFlag(string name, string value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new UsageException($"invalid value '{value}' for {name}: expected true or false, or the flag alone"),
    };

    private static string ParseMode(string name, string value) => UniqueSettings.IsMode(value)
        ? value
        : throw new UsageException($"invalid value '{value}' for {name}: expected one of {string.Join(", ", UniqueSettings.ModeNames)}");

    private static string ParseChoice(string name, string value, params string[] choices) => choices.Contains(value, StringComparer.Ordinal)
        ? value
        : throw new UsageException($"invalid value '{value}' for {name}: expected one of {string.Join(", ", choices)}");

    // Only the shape is checked here; whether the server answers shows when the command first uses it.
    private static string ParseRedis(string name, string value) => string.IsNullOrWhiteSpace(value) || value.Contains("://", StringComparison.Ordinal)
        ? throw new UsageException($"invalid value '{value}' for {name}: expected HOST:PORT or a StackExchange.Redis configuration string")
        : value;

    private static string ParseAmqpUri(string name, string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps") || uri.Host.Length == 0)
        {
            // The value may hold a password: it is not echoed.
            throw new UsageException($"invalid value for {name}: expected amqp://user:password@host:port/vhost");
        }

        return value;
    }

    private static string ParsePostgres(string name, string value)
    {
        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(value);
            if (string.IsNullOrEmpty(builder.Host))
            {
                throw new UsageException($"invalid value for {name}: the connection string names no Host");
            }
        }
        catch (ArgumentException)
        {
            // The value may hold a password: it is not echoed.
            throw new UsageException($"invalid value for {name}: expected an Npgsql connection string such as Host=HOST;Port=PORT;Username=USER;Database=DB");
        }

        return value;
    }

    private static string ParsePath(string name, string value) => string.IsNullOrWhiteSpace(value)
        ? throw new UsageException($"invalid value '{value}' for {name}: expected a file path")
        : value;

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

    private static (int Min, int Max) ParseRange(string name, string value)
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

        return (min, max);
    }
}
