namespace Solo.Bench.Scenarios.Contention;

/// <summary>Runs for a random 0-2 ms, so runs of a key overlap with its enqueues and with each other's starts.</summary>
internal sealed class ContentionTask(ContentionProbe probe) : ITask<ContentionArgs>
{
    public async Task RunAsync(ContentionArgs args, TaskContext context, CancellationToken cancellationToken)
    {
        var started = probe.OnStart(args, context);
        try
        {
            var ms = Random.Shared.Next(0, 3);
            if (ms > 0)
            {
                await Task.Delay(ms, cancellationToken);
            }
            else
            {
                await Task.Yield();
            }
        }
        finally
        {
            probe.OnEnd(args, started);
        }
    }
}
