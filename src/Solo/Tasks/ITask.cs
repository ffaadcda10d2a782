namespace Solo;

/// <summary>
/// A task that workers run. Register it with <c>SoloBuilder.AddTask</c>; it is resolved from a
/// dependency injection scope for every run, so it may take scoped services in its constructor.
/// </summary>
/// <typeparam name="TArgs">The arguments, serialized with System.Text.Json into the message.</typeparam>
public interface ITask<in TArgs>
{
    /// <summary>Runs the task once. Throwing fails this attempt (it is retried per the task's retry policy).</summary>
    /// <param name="args">The arguments it was enqueued with.</param>
    /// <param name="context">Who and what this run is: id, attempt, unique key, fencing token.</param>
    /// <param name="cancellationToken">Fires on shutdown, on timeout and when the task's lease is lost.</param>
    Task RunAsync(TArgs args, TaskContext context, CancellationToken cancellationToken);
}
