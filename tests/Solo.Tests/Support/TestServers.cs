using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Solo.Tests.Support;

/// <summary>
/// What every private test server (Redis, RabbitMQ, PostgreSQL) needs: the repository's scripts, a free
/// loopback port, a check for a leftover server's process, and a run of <c>scripts/servers/NAME.sh</c>.
/// </summary>
public static class TestServers
{
    /// <summary>The folder holding Solo.slnx, found above the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Solo.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Solo.slnx above {AppContext.BaseDirectory}.");
    }

    /// <summary>A loopback port free now (bound and released; another process could take it before the server does).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Runs <c>scripts/servers/<paramref name="script"/> <paramref name="command"/> DIR PORT [ARGS]</c>; throws with its stderr when it fails.</summary>
    public static void RunScript(string script, string command, string directory, int port, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "servers", script));
        start.ArgumentList.Add(command);
        start.ArgumentList.Add(directory);
        start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} {command} on port {port} failed ({process.ExitCode}): {stderr.Result}");
        }
    }
}
