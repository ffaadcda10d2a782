namespace Solo;

/// <summary>What happens to an enqueue (or a start) that meets a held slot.</summary>
public enum Conflict
{
    /// <summary>Publish nothing and return the holder's id as a duplicate (at start: drop the task).</summary>
    Drop,

    /// <summary>The newer arguments win: the pending task is replaced (enqueue only).</summary>
    Replace,

    /// <summary>Put the task back with a delay, keeping its queue slot (start only; the default there).</summary>
    Reschedule,

    /// <summary>Throw <see cref="UniqueConflictException"/> (at start: dead-letter the task with that reason).</summary>
    Throw,
}
