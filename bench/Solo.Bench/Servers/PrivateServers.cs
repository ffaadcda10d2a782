using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Solo.Bench.Servers;

/// <summary>
/// The Redis and RabbitMQ servers of a run: the ones given on the command line, or private ones on free
/// loopback ports started through <c>scripts/servers</c> on first need and stopped on dispose, so that a
/// run never touches a server it was not pointed at and leaves no process behind.
/// </summary>
internal sealed class PrivateServers(string? redis, string? rabbitMQ) : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"solo-bench-{Environment.ProcessId}");
    private readonly List<(string Script, string Dir, string[] Args)> _started = [];
    private string? _redis = redis;
    private string? _rabbitMQ = rabbitMQ;
    private string? _postgres;

    /// <summary>True when Redis was started here, so that the bench may flush it between runs.</summary>
    public bool RedisIsPrivate { get; private set; }

    public async Task<string> RedisAsync(CancellationToken cancellationToken)
    {
        if (_redis is null)
        {
            var port = FreePort();
            await StartAsync("redis.sh", "redis", [port.ToString(System.Globalization.CultureInfo.InvariantCulture)], cancellationToken);
            _redis = $"127.0.0.1:{port}";
            RedisIsPrivate = true;
        }

        return _redis;
    }

    public async Task<Uri> RabbitMQAsync(CancellationToken cancellationToken)
    {
        if (_rabbitMQ is null)
        {
            var port = FreePort();
            var dist = FreePort();
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            await StartAsync("rabbitmq.sh", "rabbitmq", [port.ToString(inv), dist.ToString(inv)], cancellationToken);
            _rabbitMQ = $"amqp://guest:guest@127.0.0.1:{port}/";
        }

        return new Uri(_rabbitMQ);
    }

    /// <summary>Refuses anything but loopback: the bench floods what it is pointed at.</summary>
    /// <summary>A private PostgreSQL cluster (database <c>solo</c>, trust authentication) started on first use.</summary>
    public async Task<string> PostgresAsync(CancellationToken cancellationToken)
    {
        if (_postgres is null)
        {
            var port = FreePort();
            await StartAsync("postgres.sh", "postgres", [port.ToString(System.Globalization.CultureInfo.InvariantCulture)], cancellationToken);
            _postgres = $"Host=127.0.0.1;Port={port};Username=postgres;Database=solo;Pooling=true;Maximum Pool Size=100";
        }

        return _postgres;
    }

    public static void RequireLoopback(string host, string what)
    {
        var bare = host.Trim('[', ']');
        if (bare != "localhost" && !(IPAddress.TryParse(bare, out var ip) && IPAddress.IsLoopback(ip)))
        {
            throw new ArgumentException($"{what} must be a loopback address (127.0.0.1, ::1 or localhost), not '{host}'");
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            var (script, dir, args) = _started[i];
            Console.Error.WriteLine($"[bench] stopping private {Path.GetFileNameWithoutExtension(script)}");
            await RunScriptAsync(script, "stop", dir, args, CancellationToken.None);
        }

        _started.Clear();
        try
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
        catch (IOException)
        {
            // A server still flushing its log keeps a file open; the folder is in /tmp and harmless.
        }
    }

    private static int FreePort()
    {
        // Bound and released at once; another process could take it in between, which the start would report.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ScriptsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts", "servers");
            if (File.Exists(Path.Combine(candidate, "redis.sh")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("scripts/servers not found above the bench's folder; pass --redis / --rabbitmq");
    }

    private static async Task RunScriptAsync(string script, string command, string dir, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(ScriptsFolder(), script));
        info.ArgumentList.Add(command);
        info.ArgumentList.Add(dir);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not run {script}");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} {command} failed ({process.ExitCode}): {(await stderr).Trim()}");
        }
    }

    private async Task StartAsync(string script, string name, string[] args, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(_root, name);
        Directory.CreateDirectory(dir);
        Console.Error.WriteLine($"[bench] starting a private {name} on 127.0.0.1:{args[0]}");
        // Recorded first, so that a start that fails half-way is still stopped.
        _started.Add((script, dir, args));
        await RunScriptAsync(script, "start", dir, args, cancellationToken);
    }
}
