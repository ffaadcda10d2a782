using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Solo.Bench.Backends;
using Solo.Brokers;
using Solo.Locks;

namespace Solo.Bench.Hosting;

/// <summary>
/// A Solo client, and optionally a worker, on one backend instance, built the way an application
/// builds them (AddSolo, AddSoloWorker) but started without a generic host, which would only add
/// console lifetime handling to what is measured.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;
    private bool _started;

    private BenchHost(ServiceProvider provider)
    {
        _provider = provider;
        _hosted = provider.GetServices<IHostedService>().ToArray();
        Client = provider.GetRequiredService<ISoloClient>();
    }

    public ISoloClient Client { get; }

    public IServiceProvider Services => _provider;

    /// <param name="backend">The broker and lock store; registered as instances so the container does not dispose them.</param>
    /// <param name="log">Collects the core's warnings and errors.</param>
    /// <param name="solo">Registers the tasks and middleware.</param>
    /// <param name="worker">Worker options, or null for a client-only host.</param>
    /// <param name="services">Extra services, e.g. the probe the tasks report to.</param>
    /// <param name="locks">A lock store to use instead of the backend's, e.g. a counting decorator of it.</param>
    public static BenchHost Create(
        BackendInstance backend,
        BenchLog log,
        Action<SoloBuilder> solo,
        Action<SoloWorkerOptions>? worker = null,
        Action<IServiceCollection>? services = null,
        ILockStore? locks = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(log));
        collection.AddSingleton(TimeProvider.System);
        collection.AddSingleton<IBroker>(backend.Broker);
        collection.AddSingleton<ILockStore>(locks ?? backend.Locks);
        services?.Invoke(collection);
        collection.AddSolo(builder =>
        {
            builder.Configure(options =>
            {
                options.DefaultQueue = backend.Queue;
                options.LockPrefix = backend.LockPrefix;
            });
            solo(builder);
        });
        if (worker is not null)
        {
            collection.AddSoloWorker(worker);
        }

        return new BenchHost(collection.BuildServiceProvider());
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _started = true;
        foreach (var hosted in _hosted)
        {
            await hosted.StartAsync(cancellationToken);
        }
    }

    public async Task StopAsync()
    {
        if (!_started)
        {
            return;
        }

        _started = false;
        foreach (var hosted in _hosted)
        {
            await hosted.StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _provider.DisposeAsync();
    }
}
