namespace Solo.Uniqueness;

/// <summary>A task's uniqueness rules, frozen at registration.</summary>
internal sealed class UniquePolicy
{
    public required UniqueMode Mode { get; init; }

    public TimeSpan Window { get; init; }

    public required Conflict OnConflict { get; init; }

    public required Conflict OnStartConflict { get; init; }

    public required TimeSpan RescheduleDelay { get; init; }

    public required TimeSpan QueueSlotTtl { get; init; }

    public required TimeSpan RunLease { get; init; }

    public Func<object, string?>? KeySelector { get; init; }

    /// <summary>Held from enqueue (all modes but WhileExecuting).</summary>
    public bool HasQueueSlot => Mode != UniqueMode.WhileExecuting;

    /// <summary>Held while running, separately from the queue slot.</summary>
    public bool HasRunSlot => Mode is UniqueMode.WhileExecuting or UniqueMode.Coalesce or UniqueMode.Debounce;

    /// <summary>A pending task can be taken over by a newer one; the old one then drops itself at start.</summary>
    public bool CanBeSuperseded => Mode == UniqueMode.Debounce || OnConflict == Conflict.Replace;

    /// <summary>The unique key of a task: its name, and the key from its arguments when there is one.</summary>
    public static string UniqueKey(string taskName, string? key) =>
        string.IsNullOrEmpty(key) ? taskName : string.Concat(taskName, ":", key);

    /// <summary>When a task enqueued at <paramref name="now"/> may start: Debounce pushes it to the end of its window.</summary>
    public DateTimeOffset? StartAt(DateTimeOffset? requested, DateTimeOffset now)
    {
        if (Mode != UniqueMode.Debounce)
        {
            return requested;
        }

        var debounced = now + Window;
        return requested is { } start && start > debounced ? start : debounced;
    }

    /// <summary>
    /// The TTL of the queue slot taken at enqueue for a task that waits <paramref name="wait"/> before its
    /// start: a Throttle window lasts its window, any other slot <see cref="QueueSlotTtl"/>, both counted from the start.
    /// </summary>
    public TimeSpan QueueSlotTtlAtEnqueue(TimeSpan wait) => (Mode == UniqueMode.Throttle ? Window : QueueSlotTtl) + wait;
}
