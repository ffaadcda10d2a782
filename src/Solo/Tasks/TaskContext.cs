namespace Solo;

/// <summary>What a running task knows about itself.</summary>
public sealed class TaskContext
{
    private readonly Func<bool> _leaseHeld;
    private readonly CancellationToken _leaseLost;

    internal TaskContext(string taskId, string taskName, string queue, int attempt, int maxAttempts, string? uniqueKey, long? fencingToken, DateTimeOffset enqueuedAt, object args, IServiceProvider services, Func<bool> leaseHeld, CancellationToken leaseLost)
    {
        _leaseHeld = leaseHeld;
        _leaseLost = leaseLost;
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

    /// <summary>
    /// True while this run surely still holds its message and its unique slot, judged now on the monotonic
    /// clock (not when a timer last looked). A process that was stopped (a GC pause, a frozen VM) learns here,
    /// the moment it resumes, that another copy may own the task by now.
    /// </summary>
    /// <remarks>
    /// The run's cancellation token fires too, but by a timer that a process resuming from a stop may
    /// run only after the task's own code. Check this last, inside the transaction of a write and before
    /// it commits, besides guarding the write with <see cref="FencingToken"/>: a check that passes there,
    /// in a database that serializes writers, proves that no newer run of the key had started.
    /// </remarks>
    public bool IsLeaseHeld => _leaseHeld();

    /// <summary>Throws <see cref="OperationCanceledException"/> when <see cref="IsLeaseHeld"/> is false.</summary>
    /// <exception cref="OperationCanceledException">The lease may have been lost: stop, and do not commit.</exception>
    public void ThrowIfLeaseLost()
    {
        if (!IsLeaseHeld)
        {
            throw new OperationCanceledException($"Task {TaskId} ({TaskName}) may have lost its lease; another copy may own it now.", _leaseLost);
        }
    }
}
