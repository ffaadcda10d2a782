using System.Text.Json;
using LoanRecompute;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

if (CommandLine.IsHelp(args))
{
    Console.Out.Write(CommandLine.Usage);
    return 0;
}

SimulationOptions options;
try
{
    options = CommandLine.Parse(args);
}
catch (UsageException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}\n");
    await Console.Error.WriteAsync(CommandLine.Usage);
    return 2;
}

// Our own arguments are not configuration: keep them out of the host's command-line provider.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });

// Stdout carries the summary line alone, so every log line goes to stderr.
builder.Logging.ClearProviders();
builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddLoanRecompute(options);

using var host = builder.Build();
await host.StartAsync();
var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
RunSummary summary;
try
{
    summary = await host.Services.GetRequiredService<Simulation>().RunAsync(stopping);
}
catch (TimeoutException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    await host.StopAsync();
    return 1;
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("interrupted");
    await host.StopAsync();
    return 130;
}

await host.StopAsync();
Console.Out.WriteLine(JsonSerializer.Serialize(summary, JsonSerializerOptions.Web));
return 0;
