namespace LoanRecompute.Tests.Support;

/// <summary>Every sample process a test started; disposing kills those still running, whatever the test's outcome.</summary>
internal sealed class ProcessGroup : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<SampleProcess> _processes = [];

    public SampleProcess Start(params string[] args)
    {
        var process = SampleProcess.Start(args);
        lock (_gate)
        {
            _processes.Add(process);
        }

        return process;
    }

    public async ValueTask DisposeAsync()
    {
        SampleProcess[] processes;
        lock (_gate)
        {
            processes = [.. _processes];
        }

        foreach (var process in processes)
        {
            await process.DisposeAsync();
        }
    }
}
