using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Nodes;
using Solo.Bench;
using Solo.Bench.Backends;
using Solo.Bench.Hosting;
using Solo.Bench.Scenarios;

BenchOptions options;
IBenchBackend backend;
IReadOnlyList<IScenario> scenarios;
try
{
    options = BenchOptions.Parse(args);
    if (options.Help)
    {
        Console.Error.WriteLine(BenchOptions.Usage);
        return 0;
    }

    backend = BackendFactory.Create(options.Backend);
    scenarios = ScenarioCatalog.Select(options.Scenarios);
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
Console.Error.WriteLine($"[bench] backend {backend.Name}, {Environment.ProcessorCount} cores, {(GCSettings.IsServerGC ? "server" : "workstation")} GC, .NET {Environment.Version}{(options.Quick ? ", quick" : "")}, load {LoadAverage()?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a"}");
var total = Stopwatch.StartNew();
foreach (var scenario in scenarios)
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
