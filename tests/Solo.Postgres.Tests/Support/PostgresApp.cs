using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Solo.Brokers;
using Solo.Locks;
using Solo.Tests.Support;

namespace Solo.Postgres.Tests.Support;

/// <summary>
/// An app as a user writes it, <c>AddSolo(...).UsePostgres(connectionString)</c> plus <c>AddSoloWorker</c>, with
/// the probe task registered as <c>work</c>; its hosted services are started by hand instead of by a host.
/// </summary>
public sealed class PostgresApp : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;
    private bool _started;

    public PostgresApp(string connectionString, Action<TaskBuilder<Work>>? task = null, Action<PostgresOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(Probe);
        services.AddSolo(solo => solo
            .AddTask<WorkTask, Work>("work", t => task?.Invoke(t))
            .UsePostgres(connectionString, configure));
        services.AddSoloWorker(w =>
        {
            w.Concurrency = 8;
            w.ReceiveWait = TimeSpan.FromMilliseconds(200);
            w.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        _provider = services.BuildServiceProvider();
        _hosted = _provider.GetServices<IHostedService>().ToArray();
    }

    public Probe Probe { get; } = new();

    public ISoloClient Client => _provider.GetRequiredService<ISoloClient>();

    public IBroker Broker => _provider.GetRequiredService<IBroker>();

    public ILockStore Locks => _provider.GetRequiredService<ILockStore>();

    public async Task StartWorkerAsync()
    {
        _started = true;
        foreach (var hosted in _hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    /// <summary>Waits until the queue holds nothing pending and no run is in progress, three looks in a row.</summary>
    public async Task WaitUntilDrainedAsync(TimeSpan timeout, string queue = "default")
    {
        var deadline = DateTime.UtcNow + timeout;
        var quiet = 0;
        while (quiet < 3)
        {
            var counts = await Broker.GetCountsAsync(queue, CancellationToken.None);
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"queue '{queue}' did not drain: {counts}, running {Probe.Running}");
            }

            quiet = counts.Pending == 0 && Probe.Running == 0 ? quiet + 1 : 0;
            await Task.Delay(20);
        }
    }

    public async Task<List<LockInfo>> LocksLeftAsync()
    {
        var list = new List<LockInfo>();
        await foreach (var info in Locks.ListAsync("", CancellationToken.None))
        {
            list.Add(info);
        }

        return list;
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            foreach (var hosted in _hosted)
            {
                await hosted.StopAsync(CancellationToken.None);
            }
        }

        await _provider.DisposeAsync();
    }
}
