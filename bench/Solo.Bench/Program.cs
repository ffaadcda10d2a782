using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Nodes;
using Solo.Bench;
using Solo.Bench.Backends;
using Solo.Bench.Hosting;
using Solo.Bench.Scenarios;
using Solo.Bench.Scenarios.ProcessDrain;
using Solo.Bench.Servers;

if (args.Length > 0 && args[0] == "worker")
{
    // Hidden: the worker processes of drain-processes are this executable re-launched.
    return await WorkerProcess.RunAsync(args[1..]);
}

BenchOptions options;
IReadOnlyList<string> backendNames;
try
{
    options = BenchOptions.Parse(args);
    if (options.Help)
    {
        Console.Error.WriteLine(BenchOptions.Usage);
        return 0;
    }

    backendNames = BackendFactory.Expand(options.Backend);
    foreach (var name in backendNames)
    {
        _ = ScenarioCatalog.Select(name, options.Scenarios);
    }

    if (options.Redis is not null)
    {
        PrivateServers.RequireLoopback(options.Redis.Split(',')[0].Split(':')[0], "--redis");
    }

    if (options.RabbitMQ is not null)
    {
        PrivateServers.RequireLoopback(new Uri(options.RabbitMQ).Host, "--rabbitmq");
    }
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

#if DEBUG
Console.Error.WriteLine("[bench] warning: a Debug build; run with -c Release for figures worth comparing");
#endif

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

using var log = new BenchLog();
await using var servers = new PrivateServers(options.Redis, options.RabbitMQ);
await using var redis = new RedisConnection(servers);
Console.Error.WriteLine($"[bench] backends {string.Join(", ", backendNames)}, {Environment.ProcessorCount} cores, {(GCSettings.IsServerGC ? "server" : "workstation")} GC, .NET {Environment.Version}{(options.Quick ? ", quick" : "")}, load {LoadAverage()?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a"}");
var total = Stopwatch.StartNew();
foreach (var backendName in backendNames)
{
    var backend = BackendFactory.Create(backendName, servers, redis);
    try
    {
        foreach (var scenario in ScenarioCatalog.Select(backendName, options.Scenarios))
        {
            var report = new JsonObject
            {
                ["scenario"] = scenario.Name,
                ["backend"] = backend.Name,
            };
            var warnings = log.Warnings;
            var errors = log.Errors;
            try
            {
                await scenario.RunAsync(new ScenarioContext(backend, options.Quick, log), report, cancel.Token);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                Console.Error.WriteLine($"[bench] cancelled during {scenario.Name}");
                return 130;
            }

            report["quick"] = options.Quick;
            report["cores"] = Environment.ProcessorCount;
            report["coreWarnings"] = log.Warnings - warnings;
            report["coreErrors"] = log.Errors - errors;
            if (LoadAverage() is { } load)
            {
                // Other processes on a shared machine skew every figure; the load says how much to trust them.
                report["loadAvg1m"] = load;
            }

            Console.Out.WriteLine(report.ToJsonString());
            Console.Out.Flush();
        }
    }
    finally
    {
        if (backend is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }
}

Console.Error.WriteLine($"[bench] done in {total.Elapsed.TotalSeconds:0.0} s");
return 0;

static double? LoadAverage()
{
    try
    {
        var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        return double.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
    {
        return null;
    }
}
