using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Solo.Brokers;
using Solo.Locks;
using Solo.Tests.Support;

namespace Solo.Redis.Tests.Support;

/// <summary>
/// An app as a user writes it, <c>AddSolo(...).UseRedis(configuration)</c> plus <c>AddSoloWorker</c>, with the
/// probe task registered as <c>work</c>; its hosted services are started by hand instead of by a host.
/// </summary>
public sealed class RedisApp : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;
    private bool _started;

    public RedisApp(string configuration, Action<TaskBuilder<Work>>? task = null, Action<RedisStreamsBrokerOptions>? broker = null, Action<RedisLockStoreOptions>? locks = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(Probe);
        services.AddSolo(solo => solo
            .AddTask<WorkTask, Work>("work", t => task?.Invoke(t))
            .UseRedis(configuration, broker, locks));
        services.AddSoloWorker(w =>
        {
            w.Concurrency = 4;
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

    public IServiceProvider Services => _provider;

    public async Task StartWorkerAsync()
    {
        _started = true;
        foreach (var hosted in _hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }
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
