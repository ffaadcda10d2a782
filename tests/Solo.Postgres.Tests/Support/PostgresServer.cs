using System.Globalization;
using Npgsql;
using Solo.Tests.Support;

namespace Solo.Postgres.Tests.Support;

/// <summary>
/// A private PostgreSQL cluster on 127.0.0.1 and a free port, its data in a temporary folder, run through
/// <c>scripts/servers/postgres.sh</c> (trust authentication, user <c>postgres</c>, database <c>solo</c>).
/// <see cref="Shared"/> is the one cluster of the test run, started on first use and stopped when the test
/// process exits; tests that stop or restart a server start their own with <see cref="Start"/>.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private static readonly Lazy<PostgresServer> SharedServer = new(StartShared);
    private bool _disposed;

    private PostgresServer(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    /// <summary>The cluster every test that leaves it running shares.</summary>
    public static PostgresServer Shared => SharedServer.Value;

    public string Directory { get; }

    public int Port { get; }

    /// <summary>
    /// The connection string of a database on this server; short timeouts, so that a test against a stopped
    /// server fails in seconds, as an app would configure it.
    /// </summary>
    public string ConnectionString(string database = "solo") =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={database};Timeout=5;Command Timeout=30";

    /// <summary>Starts a cluster of its own.</summary>
    public static PostgresServer Start()
    {
        for (var attempt = 1; ; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), $"solo-postgres-{Guid.NewGuid():N}");
            var server = new PostgresServer(directory, TestServers.FreePort());
            try
            {
                server.Run("start");
                TestServers.RecordOwner(directory, server.Port);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // The port was taken between finding it free and binding it; try another.
                server.Dispose();
            }
        }
    }

    /// <summary>Creates an empty database on this server and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"solo_test_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        // template0 is never connected to, so concurrent CREATE DATABASEs do not trip over each other.
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Drops the database that <paramref name="connectionString"/> names, ending its connections.</summary>
    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Shuts the server down (fast mode: connections are ended, data is kept).</summary>
    public void Stop() => Run("stop");

    /// <summary>Starts the stopped server again on the same port and folder.</summary>
    public void StartAgain() => Run("start");

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        TestServers.StopAndDelete(() => Run("stop"), Directory);
    }

    private static PostgresServer StartShared()
    {
        TestServers.SweepOrphans("solo-postgres-*", (directory, port) => new PostgresServer(directory, port).Dispose());
        var server = Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            NpgsqlConnection.ClearAllPools();
            server.Dispose();
        };
        return server;
    }

    private void Run(string command) => TestServers.RunScript("postgres.sh", command, Directory, Port);
}
