namespace Solo;

/// <summary>When a unique task holds its key. See docs/uniqueness.md.</summary>
public enum UniqueMode
{
    /// <summary>From enqueue until the task starts.</summary>
    UntilExecuting,

    /// <summary>From enqueue until the task ends.</summary>
    UntilExecuted,

    /// <summary>While the task runs only; a second run waits for the first (rescheduled at start).</summary>
    WhileExecuting,

    /// <summary>One pending and one running per key; an enqueue while running runs after the current run ends.</summary>
    Coalesce,

    /// <summary>From enqueue until a time window ends, whatever the task does.</summary>
    Throttle,

    /// <summary>Like Coalesce, but each enqueue while pending replaces the arguments and pushes the start to now + window.</summary>
    Debounce,
}
