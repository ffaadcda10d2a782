using Microsoft.Extensions.DependencyInjection;
using Solo;
using Solo.Sqlite;

namespace LoanRecompute;

/// <summary>Wires the sample: Solo on the SQLite file, <c>loans.recompute</c> in the chosen mode, and the loan tables in the same file.</summary>
internal static class LoanRecomputeServices
{
    /// <summary>Solo (client only) and the loan store on <paramref name="dbPath"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="dbPath">The file every process shares.</param>
    /// <param name="task">The task's settings; null registers no task (verify only reads).</param>
    /// <param name="sqlite">Tuning of Solo's SQLite backend in this process.</param>
    public static IServiceCollection AddLoanRecompute(this IServiceCollection services, string dbPath, RecomputeTaskSettings? task, Action<SqliteOptions>? sqlite = null)
    {
        services.AddSolo(solo =>
        {
            if (task is not null)
            {
                solo.AddTask<RecomputeLoanTask, RecomputeLoan>("loans.recompute", t => t
                    .Unique(u => Configure(u, task).Key(a => a.LoanId))
                    .Retry(5));
            }

            solo.UseSqlite(dbPath, sqlite);
        });

        services.AddSingleton(_ => new LoanDatabase(dbPath));
        services.AddSingleton(WorkerIdentity.ForThisProcess());
        services.AddSingleton<ILoanStore, SqliteLoanStore>();
        services.AddSingleton<SettingsStore>();
        services.AddSingleton<ExecutionMonitor>();
        return services;
    }

    /// <summary>The worker host, this process's heartbeat and what the task needs to run.</summary>
    public static IServiceCollection AddLoanRecomputeWorker(this IServiceCollection services, WorkPlan work, Action<SoloWorkerOptions> configure)
    {
        services.AddSingleton(work);
        services.AddSingleton<WorkDuration>();

        // Added before the worker host, so that it starts before the first run and stops after the last.
        services.AddHostedService<WorkerHeartbeat>();
        services.AddSoloWorker(configure);
        return services;
    }

    private static UniqueBuilder<RecomputeLoan> Configure(UniqueBuilder<RecomputeLoan> unique, RecomputeTaskSettings task)
    {
        var window = TimeSpan.FromMilliseconds(task.Unique.WindowMs);

        // The default reschedule delay (1 s) suits production; here a task that meets a running one
        // retries soon, so that the sample ends in seconds. Debounce meets running tasks as Coalesce does.
        var reschedule = TimeSpan.FromMilliseconds(task.RescheduleMs);
        unique.RunLease(TimeSpan.FromSeconds(task.RunLeaseSeconds));
        return task.Unique.Mode switch
        {
            UniqueMode.UntilExecuting => unique.UntilExecuting(),
            UniqueMode.UntilExecuted => unique.UntilExecuted(),
            UniqueMode.WhileExecuting => unique.WhileExecuting().RescheduleDelay(reschedule),
            UniqueMode.Coalesce => unique.Coalesce().RescheduleDelay(reschedule),
            UniqueMode.Throttle => unique.Throttle(window),
            UniqueMode.Debounce => unique.Debounce(window).RescheduleDelay(reschedule),
            _ => throw new ArgumentOutOfRangeException(nameof(task), task.Unique.Mode, "unknown mode"),
        };
    }
}
