namespace Solo.Bench.Scenarios.Drain;

/// <summary>Does nothing but report to the probe, so the drain measures Solo and not the task.</summary>
internal sealed class DrainTask(DrainProbe probe) : ITask<DrainArgs>
{
    public Task RunAsync(DrainArgs args, TaskContext context, CancellationToken cancellationToken)
    {
        probe.OnRun(args);
        return Task.CompletedTask;
    }
}
