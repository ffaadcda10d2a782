namespace Solo.Bench.Scenarios.Outbox;

internal sealed class OutboxTask(OutboxProbe probe) : ITask<OutboxArgs>
{
    public Task RunAsync(OutboxArgs args, TaskContext context, CancellationToken cancellationToken)
    {
        probe.Start(context.TaskId);
        return Task.CompletedTask;
    }
}
