using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Solo.Outbox;

namespace LoanRecompute;

/// <summary><c>produce</c>: plays the web app's events against the database (commit, then enqueue) and exits.</summary>
internal static class ProduceCommand
{
    private static readonly TimeSpan OutboxTimeout = TimeSpan.FromSeconds(120);

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

        if (options.Transactional)
        {
            // Committed is not yet published: leave once this process's relay (or another's) has published all.
            await WaitForOutboxAsync(host.Services.GetRequiredService<IOutboxStore>(), stopping);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        await host.StopAsync();
        var summary = new ProduceSummary(unique.ModeName, producer.Produced, producer.Enqueued, producer.Duplicates, (long)elapsed.TotalMilliseconds);
        Console.Out.WriteLine(JsonSerializer.Serialize(summary, JsonSerializerOptions.Web));
        return 0;
    }

    private static async Task WaitForOutboxAsync(IOutboxStore outbox, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        long left;
        while ((left = await outbox.CountAsync(cancellationToken)) > 0)
        {
            if (waited.Elapsed > OutboxTimeout)
            {
                throw new TimeoutException($"{left} committed enqueue(s) still in the outbox after {OutboxTimeout.TotalSeconds:0} s: is the broker reachable?");
            }

            if (waited.Elapsed - reported >= TimeSpan.FromSeconds(5))
            {
                reported = waited.Elapsed;
                await Console.Error.WriteLineAsync($"produce: {left} committed enqueue(s) waiting in the outbox");
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
