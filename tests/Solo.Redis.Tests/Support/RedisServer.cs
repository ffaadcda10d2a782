using System.Diagnostics;
using Solo.Redis.Connection;
using Solo.Tests.Support;
using StackExchange.Redis;

namespace Solo.Redis.Tests.Support;

/// <summary>
/// A private redis-server on 127.0.0.1 and a free port, its state in a temporary folder, run through
/// <c>scripts/servers/redis.sh</c>. <see cref="Shared"/> is the one server of the test run, started on
/// first use and stopped when the test process exits; tests that stop or restart a server start their own.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private static readonly Lazy<RedisServer> SharedServer = new(StartShared);
    private static readonly Lazy<ConnectionMultiplexer> SharedConnectionInstance = new(() => Shared.Connect());
    private readonly string[] _arguments;
    private bool _disposed;

    private RedisServer(string directory, int port, string[] arguments)
    {
        Directory = directory;
        Port = port;
        _arguments = arguments;
    }

    /// <summary>The server every test that leaves it running shares (no persistence).</summary>
    public static RedisServer Shared => SharedServer.Value;

    /// <summary>One connection to <see cref="Shared"/>, configured as <c>UseRedis</c> configures its own.</summary>
    public static ConnectionMultiplexer SharedConnection => SharedConnectionInstance.Value;

    public string Directory { get; }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server; <paramref name="arguments"/> go to redis-server last, so they win.</summary>
    public static RedisServer Start(params string[] arguments)
    {
        for (var attempt = 1; ; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), $"solo-redis-{Guid.NewGuid():N}");
            var server = new RedisServer(directory, TestServers.FreePort(), arguments);
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

    /// <summary>A connection as <c>UseRedis</c> makes it: it reconnects by itself and fails fast while down.</summary>
    public ConnectionMultiplexer Connect() => ConnectionMultiplexer.Connect(RedisConnectionPool.Options(Configuration));

    /// <summary>Shuts the server down (without saving a snapshot; an append-only file stays).</summary>
    public void Stop() => Run("stop");

    /// <summary>Starts the stopped server again on the same port and folder, loading what it persisted.</summary>
    public void StartAgain() => Run("start");

    /// <summary>Runs redis-cli against the server and returns what it printed.</summary>
    public string Cli(params string[] arguments)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Trim();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        TestServers.StopAndDelete(() => Run("stop"), Directory);
    }

    private static RedisServer StartShared()
    {
        TestServers.SweepOrphans("solo-redis-*", (directory, port) => new RedisServer(directory, port, []).Dispose());
        var server = Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            if (SharedConnectionInstance.IsValueCreated)
            {
                SharedConnectionInstance.Value.Dispose();
            }

            server.Dispose();
        };
        return server;
    }

    private void Run(string command) => TestServers.RunScript("redis.sh", command, Directory, Port, _arguments);
}
