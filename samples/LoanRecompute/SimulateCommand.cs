using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoanRecompute;

/// <summary><c>simulate</c>: producer and workers in one process on one SQLite file, then a summary line.</summary>
internal static class SimulateCommand
{
    public static async Task<int> RunAsync(SimulationOptions options)
    {
        var temporary = options.Backend.DbPath is null;
        var path = options.Backend.DbPath ?? Path.Combine(Path.GetTempPath(), $"loanrecompute-{Guid.NewGuid():N}.db");
        try
        {
            return await RunAsync(options, path);
        }
        finally
        {
            if (temporary)
            {
                foreach (var file in new[] { path, path + "-wal", path + "-shm" })
                {
                    File.Delete(file);
                }
            }
        }
    }

    private static async Task<int> RunAsync(SimulationOptions options, string path)
    {
        var builder = SampleHost.CreateBuilder();
        builder.Services.AddLoanRecompute(options.Backend, path, new RecomputeTaskSettings(options.Unique, options.RescheduleMs, RunLeaseSeconds: 30));
        builder.Services.AddLoanRecomputeWorker(options.Work, worker => worker.Concurrency = options.Concurrency);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.Plan);
        builder.Services.AddSingleton<EventProducer>();
        builder.Services.AddSingleton<Simulation>();

        using var host = builder.Build();
        var requested = new RequestedSettings(options.Unique.ModeName, options.Unique.WindowMs);
        await host.Services.GetRequiredService<SettingsStore>().ClaimAsync(requested, storeDefaults: true, CancellationToken.None);

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
    }
}
