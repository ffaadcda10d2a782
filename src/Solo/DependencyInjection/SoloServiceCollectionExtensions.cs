using Microsoft.Extensions.DependencyInjection.Extensions;
using Solo;
using Solo.Brokers;
using Solo.Client;
using Solo.Locks;
using Solo.Tasks;
using Solo.Worker;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Solo in a service collection.</summary>
public static class SoloServiceCollectionExtensions
{
    /// <summary>
    /// Adds Solo's client (<see cref="ISoloClient"/>), its tasks and its backends. Without a backend it
    /// uses the in-memory one.
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
            var defaults = new SoloBuilder(services, registry);
            if (!services.Any(d => d.ServiceType == typeof(IBroker)))
            {
                defaults.UseBroker(sp => new Solo.InMemory.InMemoryBroker(sp.GetRequiredService<TimeProvider>()));
            }

            if (!services.Any(d => d.ServiceType == typeof(ILockStore)))
            {
                defaults.UseLockStore(sp => new Solo.InMemory.InMemoryLockStore(sp.GetRequiredService<TimeProvider>()));
            }
        }

        services.TryAddSingleton<ISoloClient, SoloClient>();
        return services;
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
        services.AddHostedService<SoloWorker>();
        return services;
    }
}
