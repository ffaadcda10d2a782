using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Solo.Postgres.DependencyInjection;

namespace Solo.Postgres;

/// <summary>Chooses the PostgreSQL backends inside <c>services.AddSolo(solo => ...)</c>.</summary>
/// <remarks>
/// Each takes an Npgsql connection string, e.g. <c>Host=db;Database=app;Username=app;Password=...</c>.
/// Calls with the same string, schema and table prefix share one connection pool (an
/// <see cref="Npgsql.NpgsqlDataSource"/>), opened on first use and closed with the service provider. Solo
/// creates or migrates its tables on first use; every process that shares work must name the same database,
/// schema and prefix.
/// </remarks>
public static class PostgresSoloBuilderExtensions
{
    /// <summary>
    /// Uses PostgreSQL for both the broker (<see cref="PostgresBroker"/>) and the lock store
    /// (<see cref="PostgresLockStore"/>), on one connection pool, replacing any chosen before.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="configure">Changes the settings.</param>
    /// <exception cref="ArgumentException">A setting is out of range; checked here, at registration.</exception>
    public static SoloBuilder UsePostgres(this SoloBuilder builder, string connectionString, Action<PostgresOptions>? configure = null) =>
        builder.UsePostgresBroker(connectionString, configure).UsePostgresLocks(connectionString, configure);

    /// <summary>
    /// Uses PostgreSQL for the broker only (<see cref="PostgresBroker"/>), replacing any chosen before; the
    /// lock store is chosen separately.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="configure">Changes the settings.</param>
    /// <exception cref="ArgumentException">A setting is out of range; checked here, at registration.</exception>
    public static SoloBuilder UsePostgresBroker(this SoloBuilder builder, string connectionString, Action<PostgresOptions>? configure = null)
    {
        var options = Register(builder, connectionString, configure);
        return builder.UseBroker(sp => new PostgresBroker(sp.GetRequiredService<PostgresDatabasePool>().Get(connectionString, options), options));
    }

    /// <summary>
    /// Uses PostgreSQL for the lock store only (<see cref="PostgresLockStore"/>), replacing any chosen before;
    /// the broker is chosen separately, e.g. RabbitMQ.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="configure">Changes the settings (the lock store reads the schema and table prefix).</param>
    /// <exception cref="ArgumentException">A setting is out of range; checked here, at registration.</exception>
    public static SoloBuilder UsePostgresLocks(this SoloBuilder builder, string connectionString, Action<PostgresOptions>? configure = null)
    {
        var options = Register(builder, connectionString, configure);
        return builder.UseLockStore(sp => new PostgresLockStore(sp.GetRequiredService<PostgresDatabasePool>().Get(connectionString, options)));
    }

    /// <summary>
    /// Keeps a transactional outbox in the app's PostgreSQL database: enqueues made with
    /// <see cref="ISoloClient.EnqueueAsync{TArgs}(TArgs, System.Data.Common.DbTransaction, EnqueueOptions?, CancellationToken)"/>
    /// inside an <c>NpgsqlTransaction</c> on that database are written to table <c>solo_outbox</c> in the
    /// transaction, and this process's relay publishes them after the commit. A commit in any process wakes
    /// every relay through <c>LISTEN/NOTIFY</c>; relays share the work with <c>FOR UPDATE SKIP LOCKED</c>.
    /// </summary>
    /// <param name="builder">The Solo builder.</param>
    /// <param name="connectionString">The app's database (not necessarily the one of Solo's broker or locks).</param>
    /// <param name="configure">Sets the relay's options.</param>
    /// <param name="storage">Sets the schema and table prefix of the outbox table (defaults: <c>public</c>, <c>solo_</c>).</param>
    /// <returns>The builder.</returns>
    public static SoloBuilder UsePostgresOutbox(this SoloBuilder builder, string connectionString, Action<Solo.Outbox.OutboxOptions>? configure = null, Action<PostgresOptions>? storage = null)
    {
        var options = Register(builder, connectionString, storage);
        return builder.UseOutbox(sp => new PostgresOutboxStore(sp.GetRequiredService<PostgresDatabasePool>().Get(connectionString, options), ownsDatabase: false), configure);
    }

    private static PostgresOptions Register(SoloBuilder builder, string connectionString, Action<PostgresOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new PostgresOptions();
        configure?.Invoke(options);
        options.Validate(nameof(configure));
        try
        {
            // Parsed here, so that a malformed string fails at registration rather than at the first enqueue.
            _ = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The PostgreSQL connection string is invalid: {ex.Message}", nameof(connectionString), ex);
        }

        builder.Services.TryAddSingleton<PostgresDatabasePool>();
        return options;
    }
}
