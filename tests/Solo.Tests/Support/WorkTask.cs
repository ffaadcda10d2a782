namespace Solo.Tests.Support;

/// <summary>The task the tests enqueue: it hands each run to the test's <see cref="Probe"/>.</summary>
public sealed class WorkTask(Probe probe) : ITask<Work>
{
    public Task RunAsync(Work args, TaskContext context, CancellationToken cancellationToken) =>
        probe.RunAsync(args, context, cancellationToken);
}
