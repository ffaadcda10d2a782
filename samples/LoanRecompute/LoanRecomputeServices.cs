using Microsoft.Extensions.DependencyInjection;
using Solo;
using Solo.Postgres;
using Solo.RabbitMQ;
using Solo.Redis;
using Solo.Sqlite;

namespace LoanRecompute;

/// <summary>Wires the sample: Solo on the chosen broker and lock store, <c>loans.recompute</c> in the chosen mode, and the loan tables in the SQLite file.</summary>
internal static class LoanRecomputeServices
{
    /// <summary>Solo (client only) on the chosen backends and the loan store on <paramref name="dbPath"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="backend">The broker and lock store, and their servers.</param>
    /// <param name="dbPath">The file every process shares: the loans, and Solo's own tables for the backends that are sqlite.</param>
    /// <param name="task">The task's settings; null registers no task (verify only reads).</param>
    /// <param name="deliveryLease">The broker's delivery lease in this process; null keeps the broker's default.</param>
    public static IServiceCollection AddLoanRecompute(this IServiceCollection services, BackendOptions backend, string dbPath, RecomputeTaskSettings? task, TimeSpan? deliveryLease = null)
    {
        services.AddSolo(solo =>
        {
            if (task is not null)
            {
                solo.AddTask<RecomputeLoanTask, RecomputeLoan>("loans.recompute", t => t
                    .Unique(u => Configure(u, task).Key(a => a.LoanId))
                    .Retry(5));
            }

            UseBackends(solo, backend, dbPath, deliveryLease);

            // The app's transactions run on the loans file, so its outbox lives there. Every process that
            // knows the task relays (producers and workers alike), so a producer killed after a commit
            // loses nothing even if it never comes back; verify only reads.
            solo.UseSqliteOutbox(dbPath, o => o.RunRelay = task is not null);
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

    // Each Use... replaces what an earlier one chose, so SQLite goes first and the others override the
    // part they take. SQLite's store is created only when something resolves it, so a run on the server
    // backends alone never creates Solo's tables in the app's file (the outbox table aside).
    private static void UseBackends(SoloBuilder solo, BackendOptions backend, string dbPath, TimeSpan? lease)
    {
        solo.UseSqlite(dbPath, o => o.DeliveryLease = lease ?? o.DeliveryLease);
        switch (backend.Broker)
        {
            case "redis":
                solo.UseRedisStreams(backend.RedisConfiguration, o => o.DeliveryLease = lease ?? o.DeliveryLease);
                break;
            case "rabbitmq":
                solo.UseRabbitMQ(backend.RabbitMQUri, o =>
                {
                    o.DeliveryLease = lease ?? o.DeliveryLease;

                    // A restarted server is found again within half a second rather than the default 2 s,
                    // so that a fault in a run costs little more than the outage itself.
                    o.RecoveryInterval = TimeSpan.FromMilliseconds(500);
                });
                break;
            case "postgres":
                solo.UsePostgresBroker(backend.PostgresConnectionString, o => o.DeliveryLease = lease ?? o.DeliveryLease);
                break;
        }

        switch (backend.Locks)
        {
            case "redis":
                solo.UseRedisLocks(backend.RedisConfiguration);
                break;
            case "postgres":
                // With the broker on the same string too, both share one connection pool.
                solo.UsePostgresLocks(backend.PostgresConnectionString);
                break;
        }
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
