using Microsoft.Extensions.DependencyInjection.Extensions;
using Solo;
using Solo.Brokers;
using Solo.Client;
using Solo.Leases;
using Solo.Locks;
using Solo.Outbox;
using Solo.Tasks;
using Solo.Worker;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Solo in a service collection.</summary>
public static class SoloServiceCollectionExtensions
{
    /// <summary>
    /// Adds Solo's client (<see cref="ISoloClient"/>), its tasks and its backends. What the app leaves
    /// unset comes from the embedded default, SQLite in <c>solo.db</c> (Solo.Sqlite).
    /// </summary>
    public static IServiceCollection AddSolo(this IServiceCollection services, Action<SoloBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var registry = services.Select(d => d.ImplementationInstance).OfType<TaskRegistry>().FirstOrDefault();
        if (registry is null)
        {
            registry = new TaskRegistry();
            services.AddSingleton(registry);
        }

        services.AddOptions<SoloOptions>();
        services.TryAddSingleton(TimeProvider.System);
        configure(new SoloBuilder(services, registry));
        if (!services.Any(d => d.ServiceType == typeof(IBroker)) || !services.Any(d => d.ServiceType == typeof(ILockStore)))
        {
            RegisterDefaultBackend(new SoloBuilder(services, registry));
        }

        services.TryAddSingleton<OutboxWakeup>();
        services.TryAddSingleton<SoloClient>();
        services.TryAddSingleton<ISoloClient>(sp => sp.GetRequiredService<SoloClient>());
        return services;
    }

    /// <summary>
    /// The embedded default: the backend assembly marked with <see cref="SoloDefaultBackendAttribute"/>
    /// (Solo.Sqlite). It fills in only what the app left unset, so an app may choose a broker and keep
    /// the default lock store, or the reverse.
    /// </summary>
    private static void RegisterDefaultBackend(SoloBuilder builder)
    {
        var hasBroker = builder.Services.Any(d => d.ServiceType == typeof(IBroker));
        var hasLocks = builder.Services.Any(d => d.ServiceType == typeof(ILockStore));
        var registrar = FindDefaultBackend()
            ?? throw new InvalidOperationException(
                "Solo has no backend: reference Solo.Sqlite (the embedded default) or choose one with UseSqlite(path), UseInMemory(), UseRedis(...), UseRabbitMQ(...) or UsePostgres(...).");
        var brokers = builder.Services.Where(d => d.ServiceType == typeof(IBroker)).ToArray();
        var lockStores = builder.Services.Where(d => d.ServiceType == typeof(ILockStore)).ToArray();
        registrar.Invoke(null, [builder]);
        if (hasBroker)
        {
            builder.Services.RemoveAll<IBroker>();
            foreach (var d in brokers)
            {
                builder.Services.Add(d);
            }
        }

        if (hasLocks)
        {
            builder.Services.RemoveAll<ILockStore>();
            foreach (var d in lockStores)
            {
                builder.Services.Add(d);
            }
        }
    }

    private static System.Reflection.MethodInfo? FindDefaultBackend()
    {
        System.Reflection.Assembly assembly;
        try
        {
            assembly = System.Reflection.Assembly.Load("Solo.Sqlite");
        }
        catch (IOException)
        {
            return null;
        }

        var attribute = (SoloDefaultBackendAttribute?)Attribute.GetCustomAttribute(assembly, typeof(SoloDefaultBackendAttribute));
        return attribute?.RegistrarType.GetMethod("Register", [typeof(SoloBuilder)]);
    }

    /// <summary>Adds the worker host that runs the registered tasks (call <see cref="AddSolo"/> too).</summary>
    public static IServiceCollection AddSoloWorker(this IServiceCollection services, Action<SoloWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<SoloWorkerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<TaskProcessor>();
        services.TryAddSingleton<LeaseMonitor>();
        services.AddHostedService<SoloWorker>();
        return services;
    }
}
