namespace Solo.Bench.Scenarios.UniqueEnqueue;

/// <summary>Registered so that enqueues resolve; the enqueue scenario runs no worker, so it never runs.</summary>
internal sealed class EnqueueTask : ITask<EnqueueArgs>
{
    public Task RunAsync(EnqueueArgs args, TaskContext context, CancellationToken cancellationToken) => Task.CompletedTask;
}
