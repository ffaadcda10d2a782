namespace Solo;

/// <summary>Thrown when a unique task's key is held and its conflict strategy is <see cref="Conflict.Throw"/>.</summary>
public sealed class UniqueConflictException : Exception
{
    /// <summary>Creates the exception for a key and its holder.</summary>
    public UniqueConflictException(string uniqueKey, string holderTaskId)
        : base($"Unique key '{uniqueKey}' is held by task {holderTaskId}.")
    {
        UniqueKey = uniqueKey;
        HolderTaskId = holderTaskId;
    }

    /// <summary>The key that is held.</summary>
    public string UniqueKey { get; }

    /// <summary>The id of the task that holds it.</summary>
    public string HolderTaskId { get; }
}
