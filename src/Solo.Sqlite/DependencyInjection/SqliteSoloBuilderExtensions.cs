using Microsoft.Extensions.DependencyInjection;

namespace Solo.Sqlite;

/// <summary>Chooses the SQLite backend inside <c>services.AddSolo(solo => ...)</c>.</summary>
public static class SqliteSoloBuilderExtensions
{
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
}
