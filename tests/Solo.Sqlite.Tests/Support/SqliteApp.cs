using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Solo.Brokers;
using Solo.Tests.Support;

namespace Solo.Sqlite.Tests.Support;

/// <summary>
/// An app as a user writes it, <c>AddSolo(...).UseSqlite(path)</c> plus <c>AddSoloWorker</c>, with the probe
/// task registered as <c>work</c>; its hosted services are started by hand instead of by a host.
/// </summary>
public sealed class SqliteApp : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;
    private bool _started;

    public SqliteApp(string path, Action<TaskBuilder<Work>>? task = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(Probe);
        services.AddSolo(solo => solo
            .AddTask<WorkTask, Work>("work", t => task?.Invoke(t))
            .UseSqlite(path, o => o.PollInterval = TimeSpan.FromMilliseconds(20)));
        services.AddSoloWorker(w =>
        {
            w.Concurrency = 2;
            w.ReceiveWait = TimeSpan.FromMilliseconds(200);
            w.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        _provider = services.BuildServiceProvider();
        _hosted = _provider.GetServices<IHostedService>().ToArray();
    }

    public Probe Probe { get; } = new();

    public ISoloClient Client => _provider.GetRequiredService<ISoloClient>();

    public IBroker Broker => _provider.GetRequiredService<IBroker>();

    public async Task StartWorkerAsync()
    {
        _started = true;
        foreach (var hosted in _hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            try
            {
                await Task.Delay(10, limit.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"timed out waiting for: {what}");
            }
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
