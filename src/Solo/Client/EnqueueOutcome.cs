namespace Solo;

/// <summary>The outcome of an enqueue.</summary>
public enum EnqueueOutcome
{
    /// <summary>A new task was published.</summary>
    Enqueued,

    /// <summary>A task holding the key was already pending; nothing was published.</summary>
    Duplicate,

    /// <summary>A new task was published and took over the slot of the pending one, which will not run.</summary>
    Replaced,

    /// <summary>
    /// Written to the outbox inside the caller's transaction: published after the transaction commits (and
    /// never if it rolls back), when uniqueness is decided. <see cref="EnqueueResult.TaskId"/> is the id the
    /// task will have if it is published.
    /// </summary>
    Deferred,
}
