namespace Solo;

/// <summary>What a running task knows about itself.</summary>
public sealed class TaskContext
{
    internal TaskContext(string taskId, string taskName, string queue, int attempt, int maxAttempts, string? uniqueKey, long? fencingToken, DateTimeOffset enqueuedAt, object args, IServiceProvider services)
    {
        TaskId = taskId;
        TaskName = taskName;
        Queue = queue;
        Attempt = attempt;
        MaxAttempts = maxAttempts;
        UniqueKey = uniqueKey;
        FencingToken = fencingToken;
        EnqueuedAt = enqueuedAt;
        Args = args;
        Services = services;
    }

    /// <summary>The task id, given at enqueue; it stays the same across retries and redeliveries.</summary>
    public string TaskId { get; }

    /// <summary>The registered task name, e.g. <c>loans.recompute</c>.</summary>
    public string TaskName { get; }

    /// <summary>The queue the task was received from.</summary>
    public string Queue { get; }

    /// <summary>1 for the first attempt.</summary>
    public int Attempt { get; }

    /// <summary>The attempts allowed before the task is dead-lettered.</summary>
    public int MaxAttempts { get; }

    /// <summary>The unique key (task name and key, e.g. <c>loans.recompute:42</c>), or null for a task that is not unique.</summary>
    public string? UniqueKey { get; }

    /// <summary>
    /// A number that grows with every acquisition of this task's slot for its key; guard writes with it
    /// (write only if it is larger than the token stored with the last write) to reject a stale run.
    /// Null for a task that is not unique.
    /// </summary>
    public long? FencingToken { get; }

    /// <summary>When the task was enqueued.</summary>
    public DateTimeOffset EnqueuedAt { get; }

    /// <summary>The deserialized arguments.</summary>
    public object Args { get; }

    /// <summary>The scoped service provider of this run.</summary>
    public IServiceProvider Services { get; }
}
