namespace Solo;

/// <summary>
/// Hooks around publishing and running tasks, registered with <c>SoloBuilder.UseMiddleware</c> and
/// called in registration order. Each method has a default that does nothing but continue.
/// </summary>
public interface ISoloMiddleware
{
    /// <summary>Before a new task is published (its slot is taken already). Throwing aborts the enqueue and releases the slot.</summary>
    ValueTask OnPublishingAsync(PublishContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Around running a task: code before <paramref name="next"/> runs before the task, code after it
    /// runs after it; a failure of the task comes out of <paramref name="next"/> as its exception.
    /// </summary>
    ValueTask OnRunAsync(TaskContext context, Func<ValueTask> next, CancellationToken cancellationToken) => next();

    /// <summary>Called when an enqueue is dropped as a duplicate of a pending task.</summary>
    ValueTask OnDuplicateAsync(DuplicateContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
