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
    // Names the test process that started a server and its port, so that a later run can stop the server if
    // that process was killed before it could.
    private const string OwnerFile = "solo-test-owner";

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

    /// <summary>Records this process as the owner of the server in <paramref name="directory"/>, for <see cref="SweepOrphans"/>.</summary>
    public static void RecordOwner(string directory, int port) =>
        File.WriteAllText(Path.Combine(directory, OwnerFile), string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId} {port}"));

    /// <summary>
    /// Stops, through <paramref name="stop"/> (folder, port), the servers in temporary folders named
    /// <paramref name="folderPattern"/> whose owner process no longer runs: servers of earlier test runs that
    /// were killed before they could stop them.
    /// </summary>
    public static void SweepOrphans(string folderPattern, Action<string, int> stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), folderPattern))
        {
            string[] fields;
            try
            {
                fields = File.ReadAllText(Path.Combine(directory, OwnerFile)).Split(' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (fields.Length == 2 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out var pid)
                && int.TryParse(fields[1], CultureInfo.InvariantCulture, out var port) && !IsRunning(pid))
            {
                stop(directory, port);
            }
        }
    }

    /// <summary>Stops a server with <paramref name="stop"/>, then deletes its folder; a folder still in use is left to the next sweep.</summary>
    public static void StopAndDelete(Action stop, string directory)
    {
        ArgumentNullException.ThrowIfNull(stop);
        try
        {
            stop();
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool IsRunning(int pid)
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
