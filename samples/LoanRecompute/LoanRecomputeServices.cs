using Microsoft.Extensions.DependencyInjection;
using Solo;

namespace LoanRecompute;

/// <summary>Wires the sample: Solo with <c>loans.recompute</c> in the chosen mode, the worker, the loan store and the simulation.</summary>
internal static class LoanRecomputeServices
{
    public static IServiceCollection AddLoanRecompute(this IServiceCollection services, SimulationOptions options)
    {
        services
            .AddSolo(solo => solo
                .AddTask<RecomputeLoanTask, RecomputeLoan>("loans.recompute", t => t
                    .Unique(u => Configure(u, options).Key(a => a.LoanId))
                    .Retry(5))
                .UseInMemory())
            .AddSoloWorker(w => w.Concurrency = options.Concurrency);

        services.AddSingleton(options);
        services.AddSingleton<ILoanStore, InMemoryLoanStore>();
        services.AddSingleton<ExecutionMonitor>();
        services.AddSingleton<WorkDuration>();
        services.AddSingleton<EventProducer>();
        services.AddSingleton<Simulation>();
        return services;
    }

    private static UniqueBuilder<RecomputeLoan> Configure(UniqueBuilder<RecomputeLoan> unique, SimulationOptions options)
    {
        var window = TimeSpan.FromMilliseconds(options.WindowMs);

        // The default reschedule delay (1 s) suits production; here a task that meets a running one
        // retries soon, so that the sample ends in seconds. Debounce meets running tasks as Coalesce does.
        var reschedule = TimeSpan.FromMilliseconds(options.RescheduleMs);
        return options.Mode switch
        {
            UniqueMode.UntilExecuting => unique.UntilExecuting(),
            UniqueMode.UntilExecuted => unique.UntilExecuted(),
            UniqueMode.WhileExecuting => unique.WhileExecuting().RescheduleDelay(reschedule),
            UniqueMode.Coalesce => unique.Coalesce().RescheduleDelay(reschedule),
            UniqueMode.Throttle => unique.Throttle(window),
            UniqueMode.Debounce => unique.Debounce(window).RescheduleDelay(reschedule),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "unknown mode"),
        };
    }
}
