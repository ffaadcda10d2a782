using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Solo.Bench.Hosting;
using Solo.Sqlite;

namespace Solo.Bench.Scenarios.ProcessDrain;

/// <summary>
/// The hidden <c>worker --db PATH --concurrency N --queue Q --prefix P</c> mode: a Solo worker on the SQLite
/// file, configured as an app would (UseSqlite), that prints <c>ready</c> once started, one line
/// <c>START_TICKS LATENCY_TICKS</c> per task run, and exits when its stdin closes.
/// </summary>
internal static class WorkerProcess
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        string? db = null;
        var queue = "bench";
        var prefix = "bench:";
        var concurrency = 8;
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            switch (args[i])
            {
                case "--db": db = args[i + 1]; break;
                case "--queue": queue = args[i + 1]; break;
                case "--prefix": prefix = args[i + 1]; break;
                case "--concurrency": concurrency = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown worker argument '{args[i]}'");
            }
        }

        ArgumentException.ThrowIfNullOrEmpty(db, "--db");
        var starts = Channel.CreateUnbounded<(long Start, long Latency)>(new UnboundedChannelOptions { SingleReader = true });
        using var log = new BenchLog();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(log));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(starts.Writer);
        services.AddSolo(solo =>
        {
            solo.Configure(o =>
            {
                o.DefaultQueue = queue;
                o.LockPrefix = prefix;
            });
            ProcessDrainTaskRegistration.Add(solo).UseSqlite(db);
        });
        services.AddSoloWorker(w =>
        {
            w.Concurrency = concurrency;
            w.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToArray();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        var stdout = Console.Out;
        await stdout.WriteLineAsync("ready");
        await stdout.FlushAsync();
        var writer = Task.Run(async () =>
        {
            while (await starts.Reader.WaitToReadAsync())
            {
                while (starts.Reader.TryRead(out var run))
                {
                    await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{run.Start} {run.Latency}"));
                }

                await stdout.FlushAsync();
            }
        });

        // The parent closes stdin to stop it, so a parent that dies takes its workers with it.
        await Console.In.ReadToEndAsync();
        foreach (var service in hosted.Reverse())
        {
            await service.StopAsync(CancellationToken.None);
        }

        starts.Writer.Complete();
        await writer;
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"done {log.Warnings} {log.Errors}"));
        await stdout.FlushAsync();
        return 0;
    }
}
