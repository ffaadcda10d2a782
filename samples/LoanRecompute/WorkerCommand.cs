using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

namespace LoanRecompute;

/// <summary>
/// <c>worker</c>: runs <c>loans.recompute</c> from the database until Ctrl+C or SIGTERM. The generic host
/// turns either into a graceful stop: receiving ends, running tasks finish (or, past Solo's shutdown
/// timeout, go back to the queue), and the process exits 0.
/// </summary>
internal static class WorkerCommand
{
    public static async Task<int> RunAsync(WorkerOptions options)
    {
        var path = options.Backend.DbPath!;
        var unique = await GetSettingsAsync(path, options.Requested);
        if (unique is null)
        {
            await Console.Error.WriteLineAsync("worker stopped before any mode was stored");
            return 0;
        }

        var lease = TimeSpan.FromSeconds(options.LeaseSeconds);
        var builder = SampleHost.CreateBuilder();
        builder.Services.AddLoanRecompute(
            options.Backend,
            path,
            new RecomputeTaskSettings(unique, options.RescheduleMs, options.RunLeaseSeconds),
            lease);
        builder.Services.AddLoanRecomputeWorker(options.Work, worker =>
        {
            worker.Concurrency = options.Concurrency;

            // Solo renews a running task's delivery every DeliveryRenewInterval (10 s by default) and knows
            // nothing of the broker's lease. A shorter lease must be renewed well within itself, or the
            // broker hands a task that is still running to another worker, whose copy (same task id)
            // reclaims the run lock and runs beside it.
            worker.DeliveryRenewInterval = TimeSpan.FromTicks(Math.Min(worker.DeliveryRenewInterval.Ticks, lease.Ticks / 3));
        });

        using var host = builder.Build();
        await Console.Error.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"worker {Environment.ProcessId}: mode {unique.ModeName}, window {unique.WindowMs} ms, concurrency {options.Concurrency}, lease {options.LeaseSeconds} s, run lease {options.RunLeaseSeconds} s, broker {options.Backend.Broker}, locks {options.Backend.Locks}, db {Path.GetFullPath(path)}"));
        await host.RunAsync();
        return 0;
    }

    /// <summary>The database's settings; waits for a producer to store them if neither side named any. Null when stopped while waiting.</summary>
    private static async Task<UniqueSettings?> GetSettingsAsync(string path, RequestedSettings requested)
    {
        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            // A stop while waiting is as graceful as any other: nothing has been taken yet.
            context.Cancel = true;
            stop.Cancel();
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var database = new LoanDatabase(path);
        var settings = new SettingsStore(database);
        try
        {
            return await settings.ClaimAsync(requested, storeDefaults: false, stop.Token)
                ?? await settings.WaitAsync(
                    () => Console.Error.WriteLine($"worker {Environment.ProcessId}: waiting for produce to store the mode in {database.Path} (or pass --mode)"),
                    stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return null;
        }
    }
}
