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
}
