namespace Solo;

/// <summary>Enqueues tasks. Registered as a singleton by <c>AddSolo</c>.</summary>
public interface ISoloClient
{
    /// <summary>Enqueues the task registered for <typeparamref name="TArgs"/>, applying its uniqueness rules.</summary>
    /// <exception cref="UniqueConflictException">The task's conflict strategy is Throw and its key is held.</exception>
    /// <exception cref="TaskNotRegisteredException">No task is registered for <typeparamref name="TArgs"/>.</exception>
    /// <exception cref="TaskPayloadException">The arguments cannot be serialized or are too large.</exception>
    Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, CancellationToken cancellationToken = default)
        where TArgs : notnull;

    /// <summary>Enqueues with options: a delay or start time, an explicit unique key, another queue.</summary>
    Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, EnqueueOptions? options, CancellationToken cancellationToken = default)
        where TArgs : notnull;

    /// <summary>
    /// Enqueues many tasks at once: locks are taken in one batch and the messages published in one batch.
    /// Results come in the order of <paramref name="args"/>.
    /// </summary>
    Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync<TArgs>(IEnumerable<TArgs> args, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull;
}
