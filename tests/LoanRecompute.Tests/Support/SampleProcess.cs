using System.Diagnostics;
using System.Text;

namespace LoanRecompute.Tests.Support;

/// <summary>
/// One process of the built sample (<c>dotnet LoanRecompute.dll ...</c>) with its output captured. Disposing
/// kills it if it still runs, so that no test leaves a process behind, whatever it asserted.
/// </summary>
internal sealed class SampleProcess : IAsyncDisposable
{
    private static readonly Lazy<string> SampleDll = new(FindSampleDll);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SampleProcess(IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(SampleDll.Value);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Args = string.Join(' ', args);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data, _stdoutClosed);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data, _stderrClosed);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Pid = _process.Id;
    }

    public int Pid { get; }

    public string Args { get; }

    public bool HasExited => _process.HasExited;

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static SampleProcess Start(params string[] args) => new(args);

    /// <summary>Runs the sample to its end and returns what it printed.</summary>
    public static async Task<SampleRun> RunAsync(TimeSpan timeout, params string[] args)
    {
        await using var process = Start(args);
        return await process.WaitAsync(timeout);
    }

    /// <summary>Waits for the process to exit on its own; throws (and kills it) when it takes longer than <paramref name="timeout"/>.</summary>
    public async Task<SampleRun> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"'{Args}' (pid {Pid}) did not exit within {timeout.TotalSeconds} s\nstderr:\n{StandardError}");
        }

        string stdout;
        lock (_stdout)
        {
            stdout = _stdout.ToString();
        }

        return new SampleRun(_process.ExitCode, stdout, StandardError);
    }

    /// <summary>kill -9: no shutdown, no finally blocks, nothing flushed.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as a service manager stops a process: the host shuts down gracefully.</summary>
    public Task TerminateAsync() => SignalAsync("TERM");

    /// <summary>
    /// SIGSTOP: the whole process freezes at once, mid-instruction, as a long GC pause, a swapped-out or
    /// throttled container or a VM migration freezes it; its sockets stay open and its timers do not fire.
    /// Returns once the signal is sent: from then on the process runs nothing until <see cref="ResumeAsync"/>.
    /// </summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT: a paused process goes on where it stood, and finds that time has passed.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static void Append(StringBuilder output, string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    // The test assembly sits in tests/LoanRecompute.Tests/bin/<Config>/<tfm>/; the sample, built first by
    // the project reference, in samples/LoanRecompute/bin/<Config>/<tfm>/.
    private static string FindSampleDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = here.Name;
        var configuration = here.Parent!.Name;
        var repository = here.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(repository, "samples", "LoanRecompute", "bin", configuration, tfm, "LoanRecompute.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The sample is not built at {dll}; build the solution first.", dll);
    }

    // The host that runs this test process when it is "dotnet"; otherwise the one the SDK names, or PATH's.
    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }
}
