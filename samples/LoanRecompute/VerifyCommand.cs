using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoanRecompute;

/// <summary><c>verify</c>: waits for the queue to drain, prints the report line, exits 0 only when it is clean.</summary>
internal static class VerifyCommand
{
    public static async Task<int> RunAsync(VerifyOptions options)
    {
        var path = options.Backend.DbPath!;
        if (!File.Exists(path))
        {
            // Opening would create an empty file, which would then "verify" as zero events.
            throw new UsageException($"no database at '{Path.GetFullPath(path)}'");
        }

        var builder = SampleHost.CreateBuilder();
        builder.Services.AddLoanRecompute(options.Backend, path, task: null);
        builder.Services.AddSingleton<Verifier>();

        using var host = builder.Build();
        await host.StartAsync();
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var verifier = host.Services.GetRequiredService<Verifier>();
        VerifyReport report;
        try
        {
            report = await verifier.VerifyAsync(TimeSpan.FromSeconds(options.TimeoutSeconds), stopping);
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
        Console.Out.WriteLine(JsonSerializer.Serialize(report, JsonSerializerOptions.Web));
        await Console.Error.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"verify: {verifier.UnfinishedRuns} run(s) never ended (their process was killed mid-run)"));
        if (report.IsClean())
        {
            return 0;
        }

        await Console.Error.WriteLineAsync("verify failed: expected lost = 0, staleResults = 0, maxConcurrentPerKey = 1 and locksLeft = 0");
        return 1;
    }
}
