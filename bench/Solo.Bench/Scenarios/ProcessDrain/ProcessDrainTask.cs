using System.Diagnostics;
using System.Threading.Channels;

namespace Solo.Bench.Scenarios.ProcessDrain;

/// <summary>
/// Runs in a worker process: reports its start to the parent, through a channel that one writer drains to
/// stdout, so that tasks never wait on the console.
/// </summary>
internal sealed class ProcessDrainTask(ChannelWriter<(long Start, long Latency)> starts) : ITask<ProcessDrainArgs>
{
    public Task RunAsync(ProcessDrainArgs args, TaskContext context, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        starts.TryWrite((now, now - args.EnqueuedTicks));
        return Task.CompletedTask;
    }
}
