using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoanRecompute;

/// <summary><c>produce</c>: plays the web app's events against the database (commit, then enqueue) and exits.</summary>
internal static class ProduceCommand
{
    public static async Task<int> RunAsync(ProduceOptions options)
    {
        var path = options.Backend.DbPath!;

        // Stored (or checked) before the first enqueue: workers waiting for a mode start on this one.
        UniqueSettings unique;
        using (var database = new LoanDatabase(path))
        {
            unique = (await new SettingsStore(database).ClaimAsync(options.Requested, storeDefaults: true, CancellationToken.None))!;
        }

        var builder = SampleHost.CreateBuilder();
        builder.Services.AddLoanRecompute(options.Backend, path, RecomputeTaskSettings.EnqueueOnly(unique));
        builder.Services.AddSingleton(options.Plan);
        builder.Services.AddSingleton<EventProducer>();

        using var host = builder.Build();
        await host.StartAsync();
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var producer = host.Services.GetRequiredService<EventProducer>();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await producer.ProduceAsync(stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"interrupted after {producer.Produced} of {options.Events} events");
            await host.StopAsync();
            return 130;
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        await host.StopAsync();
        var summary = new ProduceSummary(unique.ModeName, producer.Produced, producer.Enqueued, producer.Duplicates, (long)elapsed.TotalMilliseconds);
        Console.Out.WriteLine(JsonSerializer.Serialize(summary, JsonSerializerOptions.Web));
        return 0;
    }
}
