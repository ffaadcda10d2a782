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
}
