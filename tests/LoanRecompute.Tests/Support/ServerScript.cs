using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LoanRecompute.Tests.Support;

/// <summary>
/// A private server run through one of <c>scripts/servers/*.sh</c> (<c>start|stop DIR PORT ...</c>): on
/// 127.0.0.1, a free port, its state in a temporary folder. Stopped at the latest when the test process
/// exits, so that a test host that dies without disposing its fixtures leaves no server behind.
/// </summary>
internal sealed class ServerScript
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(2);

    private readonly string _script;
    private readonly string[] _arguments;
    private int _running;

    /// <param name="script">The script's file name in scripts/servers.</param>
    /// <param name="directory">The server's folder.</param>
    /// <param name="port">Its port.</param>
    /// <param name="extra">Arguments after DIR PORT.</param>
    public ServerScript(string script, string directory, int port, params string[] extra)
    {
        _script = Path.Combine(FindRepositoryRoot(), "scripts", "servers", script);
        Directory = directory;
        _arguments = [directory, Text(port), .. extra];
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAtExit();
    }

    public string Directory { get; }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    public async Task StartAsync()
    {
        if (Interlocked.Exchange(ref _running, 1) == 0)
        {
            await RunAsync("start");
        }
    }

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _running, 0) == 1)
        {
            await RunAsync("stop");
        }
    }

    /// <summary>Stops the server (if running) and deletes its folder.</summary>
    public async Task DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being written (a crash dump, say); the temp folder is the OS's to clean.
        }
    }

    private void StopAtExit()
    {
        if (Interlocked.Exchange(ref _running, 0) == 1)
        {
            using var process = Process.Start(StartInfo("stop"));
            process?.WaitForExit(30_000);
        }
    }

    private ProcessStartInfo StartInfo(string command)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(_script);
        info.ArgumentList.Add(command);
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private async Task RunAsync(string command)
    {
        using var process = Process.Start(StartInfo(command)) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ScriptTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(_script)} {command} took more than {ScriptTimeout.TotalSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(_script)} {command} failed ({process.ExitCode}): {await stdout} {await stderr}");
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Solo.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Solo.slnx above {AppContext.BaseDirectory}: cannot find scripts/servers.");
    }
}
