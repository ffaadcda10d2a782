using Microsoft.Extensions.DependencyInjection;

namespace Solo.Sqlite;

/// <summary>Chooses the SQLite backend inside <c>services.AddSolo(solo => ...)</c>.</summary>
public static class SqliteSoloBuilderExtensions
{
    // Long enough for any publish to finish; a relay that dies mid-batch delays those messages this long.
    private static readonly TimeSpan OutboxClaimLease = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Uses one SQLite file for both the broker (<see cref="SqliteBroker"/>) and the lock store
    /// (<see cref="SqliteLockStore"/>), replacing any chosen before. Both are singletons that share one
    /// connection and take their clock from the <see cref="TimeProvider"/> in the services. Every process
    /// that enqueues or runs the app's tasks must use the same file.
    /// </summary>
    /// <param name="builder">Solo's builder.</param>
    /// <param name="path">The database file; a relative path is resolved against the current directory when the store is created.</param>
    /// <param name="configure">Changes the other settings (it may change the path too).</param>
    /// <exception cref="ArgumentException">A setting is out of range; checked here, at registration.</exception>
    public static SoloBuilder UseSqlite(this SoloBuilder builder, string path, Action<SqliteOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = new SqliteOptions { Path = path };
        configure?.Invoke(options);
        options.Validate(nameof(configure));

        // A key of this call's own, so that a second UseSqlite (another path) never shares this connection.
        var key = new object();
        builder.Services.AddKeyedSingleton(key, (_, _) => new SqliteDatabase(options));
        return builder
            .UseBroker(sp => new SqliteBroker(sp.GetRequiredKeyedService<SqliteDatabase>(key), options, sp.GetRequiredService<TimeProvider>()))
            .UseLockStore(sp => new SqliteLockStore(sp.GetRequiredKeyedService<SqliteDatabase>(key), sp.GetRequiredService<TimeProvider>()));
    }

    /// <summary>
    /// Keeps a transactional outbox in the app's SQLite file at <paramref name="path"/>: enqueues made with
    /// <see cref="ISoloClient.EnqueueAsync{TArgs}(TArgs, System.Data.Common.DbTransaction, EnqueueOptions?, CancellationToken)"/>
    /// inside a transaction on that file are written to table <c>solo_outbox</c> in the transaction, and this
    /// process's relay publishes them after the commit (within milliseconds; rows a crashed process left are
    /// found by polling). Several processes may relay from one file; a batch is leased to one relay at a time.
    /// </summary>
    /// <param name="builder">The Solo builder.</param>
    /// <param name="path">The app's database file (not necessarily Solo's own).</param>
    /// <param name="configure">Sets the relay's options.</param>
    /// <returns>The builder.</returns>
    public static SoloBuilder UseSqliteOutbox(this SoloBuilder builder, string path, Action<Solo.Outbox.OutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return builder.UseOutbox(sp => new SqliteOutboxStore(path, sp.GetRequiredService<TimeProvider>(), OutboxClaimLease), configure);
    }
}
