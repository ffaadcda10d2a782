using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;

namespace Solo.Tests.Support;

/// <summary>
/// A Solo client and worker in one service provider, for engine tests. Several harnesses can share one
/// broker and lock store to act as several worker processes.
/// </summary>
public sealed class SoloHarness : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;
    private bool _started;

    private SoloHarness(ServiceProvider provider)
    {
        _provider = provider;
        _hosted = provider.GetServices<IHostedService>().ToArray();
    }

    public ISoloClient Client => _provider.GetRequiredService<ISoloClient>();

    public IBroker Broker => _provider.GetRequiredService<IBroker>();

    public ILockStore Locks => _provider.GetRequiredService<ILockStore>();

    public Probe Probe => _provider.GetRequiredService<Probe>();

    public IServiceProvider Services => _provider;

    /// <summary>Builds a harness with the probe task registered as <c>work</c>, configured by <paramref name="task"/>.</summary>
    public static SoloHarness Create(
        Action<TaskBuilder<Work>>? task = null,
        Action<SoloWorkerOptions>? worker = null,
        TimeProvider? time = null,
        IBroker? broker = null,
        ILockStore? locks = null,
        Probe? probe = null,
        Action<SoloBuilder>? solo = null)
    {
        var clock = time ?? TimeProvider.System;
        var sharedBroker = broker ?? new InMemoryBroker(clock);
        var sharedLocks = locks ?? new InMemoryLockStore(clock);
        return Build(
            s =>
            {
                s.UseBroker(_ => sharedBroker).UseLockStore(_ => sharedLocks);
                solo?.Invoke(s);
            },
            task,
            worker,
            clock,
            probe);
    }

    /// <summary>
    /// Builds a harness as an app writes it: the backend is chosen by <paramref name="backend"/> through its own
    /// extension (<c>UseSqlite</c>, <c>UseRedis</c>, <c>UsePostgres</c>...), not handed in as instances.
    /// </summary>
    public static SoloHarness CreateApp(Action<SoloBuilder> backend, Action<TaskBuilder<Work>>? task = null, Action<SoloWorkerOptions>? worker = null) =>
        Build(backend, task, worker, TimeProvider.System, probe: null);

    private static SoloHarness Build(Action<SoloBuilder> backend, Action<TaskBuilder<Work>>? task, Action<SoloWorkerOptions>? worker, TimeProvider clock, Probe? probe)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(clock);
        services.AddSingleton(probe ?? new Probe());
        services.AddSolo(s =>
        {
            s.AddTask<WorkTask, Work>("work", t => task?.Invoke(t));
            backend(s);
        });
        services.AddSoloWorker(w =>
        {
            w.Concurrency = 4;
            w.ReceiveWait = TimeSpan.FromMilliseconds(50);
            w.ShutdownTimeout = TimeSpan.FromSeconds(5);
            worker?.Invoke(w);
        });
        return new SoloHarness(services.BuildServiceProvider());
    }

    public async Task StartWorkerAsync()
    {
        _started = true;
        foreach (var hosted in _hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    public async Task StopWorkerAsync()
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

    /// <summary>Waits until the queue holds nothing pending and no probe run is in progress.</summary>
    public async Task WaitUntilDrainedAsync(TimeSpan? timeout = null, string queue = "default")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        var quiet = 0;
        while (quiet < 3)
        {
            if (DateTime.UtcNow > deadline)
            {
                var counts = await Broker.GetCountsAsync(queue, CancellationToken.None);
                throw new TimeoutException($"queue '{queue}' did not drain: {counts}, running {Probe.Running}");
            }

            var c = await Broker.GetCountsAsync(queue, CancellationToken.None);
            quiet = c.Pending == 0 && Probe.Running == 0 ? quiet + 1 : 0;
            await Task.Delay(10);
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for: {what}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for: {what}");
            }

            await Task.Delay(5);
        }
    }

    public async Task<QueueCountsSnapshot> CountsAsync(string queue = "default") =>
        new(await Broker.GetCountsAsync(queue, CancellationToken.None));

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
        await StopWorkerAsync();
        await _provider.DisposeAsync();
    }
}
