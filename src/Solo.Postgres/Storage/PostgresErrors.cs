using System.Globalization;
using System.Net.Sockets;
using Npgsql;

namespace Solo.Postgres.Storage;

/// <summary>Which faults mean "PostgreSQL cannot be reached or cannot serve now", and how errors name the server.</summary>
internal static class PostgresErrors
{
    /// <summary>The server as errors name it, e.g. <c>PostgreSQL 127.0.0.1:5432/app</c>; never credentials.</summary>
    public static string ServerName(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var database = builder.Database ?? builder.Username ?? "postgres";
        return string.Create(CultureInfo.InvariantCulture, $"PostgreSQL {builder.Host}:{builder.Port}/{database}");
    }

    /// <summary>True when <paramref name="exception"/> means the server could not be reached or refused to serve for now.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => IsUnavailableState(postgres.SqlState),
        // Connection refused or reset, a dead socket, a connect or command timeout, an exhausted pool.
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or SocketException or TimeoutException,
        _ => false,
    };

    /// <summary>True for the states a retry of the same transaction may clear: it was rolled back and changed nothing.</summary>
    public static bool IsRetryable(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure };

    /// <summary>
    /// True when the server ended the connection before or instead of committing (it shut down, or restarted,
    /// while the connection sat idle in the pool): nothing was stored, and a fresh connection may work.
    /// </summary>
    public static bool IsTerminatedConnection(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown };

    private static bool IsUnavailableState(string state) =>
        // Class 08: connection exceptions; class 53: insufficient resources (too many connections, disk full).
        state.StartsWith("08", StringComparison.Ordinal)
        || state.StartsWith("53", StringComparison.Ordinal)
        || state is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow;
}
