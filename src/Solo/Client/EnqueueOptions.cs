namespace Solo;

/// <summary>Per-enqueue options.</summary>
public sealed class EnqueueOptions
{
    /// <summary>Start no earlier than this long from now.</summary>
    public TimeSpan? Delay { get; init; }

    /// <summary>Start no earlier than this time. Not to be combined with <see cref="Delay"/>.</summary>
    public DateTimeOffset? StartAt { get; init; }

    /// <summary>The unique key, overriding the task's key selector.</summary>
    public string? UniqueKey { get; init; }

    /// <summary>The queue, overriding the task's queue. Uniqueness does not depend on it.</summary>
    public string? Queue { get; init; }
}
