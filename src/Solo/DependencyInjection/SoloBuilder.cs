using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;
using Solo.Outbox;
using Solo.Tasks;

namespace Solo;

/// <summary>Configures Solo inside <c>services.AddSolo(solo => ...)</c>: tasks, backends, middleware, options.</summary>
public sealed class SoloBuilder
{
    internal SoloBuilder(IServiceCollection services, TaskRegistry registry)
    {
        Services = services;
        Registry = registry;
    }

    /// <summary>The service collection, for backend packages' <c>Use...</c> extension methods.</summary>
    public IServiceCollection Services { get; }

    internal TaskRegistry Registry { get; }

    /// <summary>Registers a task under a name. The name travels in messages; workers map it back to this type only.</summary>
    /// <typeparam name="TTask">The task, resolved from a scope per run.</typeparam>
    /// <typeparam name="TArgs">Its arguments; one task per arguments type.</typeparam>
    /// <param name="name">A stable name, e.g. <c>loans.recompute</c>.</param>
    /// <param name="configure">Uniqueness, retries, timeout, queue.</param>
    public SoloBuilder AddTask<TTask, TArgs>(string name, Action<TaskBuilder<TArgs>>? configure = null)
        where TTask : class, ITask<TArgs>
        where TArgs : notnull
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var builder = new TaskBuilder<TArgs>();
        configure?.Invoke(builder);
        Registry.Add(builder.Build<TTask>(name));
        Services.TryAddScoped<TTask>();
        return this;
    }

    /// <summary>Uses this broker (replacing any chosen before).</summary>
    public SoloBuilder UseBroker(Func<IServiceProvider, IBroker> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<IBroker>();
        Services.AddSingleton(factory);
        return this;
    }

    /// <summary>Uses this lock store (replacing any chosen before).</summary>
    public SoloBuilder UseLockStore(Func<IServiceProvider, ILockStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<ILockStore>();
        Services.AddSingleton(factory);
        return this;
    }

    /// <summary>
    /// Uses <paramref name="factory"/>'s transactional outbox for enqueues made inside the app's database
    /// transactions (<see cref="ISoloClient.EnqueueAsync{TArgs}(TArgs, System.Data.Common.DbTransaction, EnqueueOptions?, CancellationToken)"/>),
    /// and runs this process's outbox relay as a hosted service. The database packages call it
    /// (<c>UseSqliteOutbox</c>, <c>UsePostgresOutbox</c>).
    /// </summary>
    /// <param name="factory">Creates the outbox store (a singleton).</param>
    /// <param name="configure">Sets the relay's options.</param>
    public SoloBuilder UseOutbox(Func<IServiceProvider, IOutboxStore> factory, Action<OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<IOutboxStore>();
        Services.AddSingleton(factory);
        var options = Services.AddOptions<OutboxOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OutboxRelay>());
        return this;
    }

    /// <summary>
    /// Uses the in-memory broker and lock store: one process, nothing survives it. For unit tests of
    /// your own tasks; drive time with a fake <see cref="TimeProvider"/> registered in the services.
    /// </summary>
    public SoloBuilder UseInMemory() =>
        UseBroker(sp => new InMemoryBroker(sp.GetRequiredService<TimeProvider>()))
            .UseLockStore(sp => new InMemoryLockStore(sp.GetRequiredService<TimeProvider>()));

    /// <summary>Adds a middleware; middleware runs in the order added.</summary>
    public SoloBuilder UseMiddleware<TMiddleware>()
        where TMiddleware : class, ISoloMiddleware
    {
        Services.AddSingleton<ISoloMiddleware, TMiddleware>();
        return this;
    }

    /// <summary>Adds a middleware instance.</summary>
    public SoloBuilder UseMiddleware(ISoloMiddleware middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        Services.AddSingleton(middleware);
        return this;
    }

    /// <summary>Sets shared options (queue names, payload limit, lock prefix, JSON).</summary>
    public SoloBuilder Configure(Action<SoloOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }
}
