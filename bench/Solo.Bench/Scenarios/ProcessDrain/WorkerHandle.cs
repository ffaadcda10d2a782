using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Solo.Bench.Scenarios.ProcessDrain;

/// <summary>
/// A worker process: this same executable in its hidden <c>worker</c> mode. Its stdout lines feed the
/// collector; its stderr is passed through; closing its stdin stops it.
/// </summary>
internal sealed class WorkerHandle : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private readonly Task _errors;

    private WorkerHandle(Process process, StartCollector collector)
    {
        _process = process;
        _reader = Task.Run(() => ReadAsync(collector));
        _errors = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                Console.Error.WriteLine($"[worker {process.Id}] {line}");
            }
        });
    }

    public int Warnings { get; private set; }

    public int Errors { get; private set; }

    public static WorkerHandle Start(string db, string queue, string prefix, int concurrency, StartCollector collector)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path to re-launch");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Under `dotnet Solo.Bench.dll` the process is the host, which needs the assembly named again.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (var arg in new[] { "worker", "--db", db, "--queue", queue, "--prefix", prefix, "--concurrency", concurrency.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start a worker process");
        return new WorkerHandle(process, collector);
    }

    public Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken) => _ready.Task.WaitAsync(timeout, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"[bench] worker {_process.Id} did not stop in 15 s; killing it");
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        await Task.WhenAll(_reader, _errors);
        _process.Dispose();
    }

    private async Task ReadAsync(StartCollector collector)
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line == "ready")
            {
                _ready.TrySetResult();
                continue;
            }

            var parts = line.Split(' ');
            if (parts[0] == "done")
            {
                Warnings = int.Parse(parts[1], CultureInfo.InvariantCulture);
                Errors = int.Parse(parts[2], CultureInfo.InvariantCulture);
                continue;
            }

            collector.OnStart(long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        _ready.TrySetException(new InvalidOperationException($"worker {_process.Id} exited before it was ready"));
    }
}
