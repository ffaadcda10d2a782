using System.Data.Common;

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

    /// <summary>
    /// Enqueues a task inside the app's database transaction: it is written to the transactional outbox in
    /// <paramref name="transaction"/> and published after the transaction commits, by the outbox relay, even
    /// if this process dies right after the commit. A rolled-back transaction publishes nothing. Uniqueness
    /// is decided when the relay publishes, so the outcome is <see cref="EnqueueOutcome.Deferred"/>.
    /// </summary>
    /// <param name="args">The task's arguments; their type names the registered task.</param>
    /// <param name="transaction">The app's open transaction, on the outbox's database (SQLite or PostgreSQL).</param>
    /// <param name="options">Delay, start time, unique key or queue; null for the task's defaults.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="InvalidOperationException">No outbox is configured (<c>UseSqliteOutbox</c>, <c>UsePostgresOutbox</c>).</exception>
    /// <exception cref="ArgumentException">The transaction is not on the outbox's database.</exception>
    /// <exception cref="TaskNotRegisteredException">No task is registered for <typeparamref name="TArgs"/>.</exception>
    /// <exception cref="TaskPayloadException">The arguments cannot be serialized, or the message is over the size limit.</exception>
    Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, DbTransaction transaction, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull;

    /// <summary>
    /// Enqueues many tasks inside the app's database transaction, as
    /// <see cref="EnqueueAsync{TArgs}(TArgs, DbTransaction, EnqueueOptions?, CancellationToken)"/> does one.
    /// </summary>
    /// <param name="args">The tasks' arguments.</param>
    /// <param name="transaction">The app's open transaction, on the outbox's database.</param>
    /// <param name="options">Options for every task; null for the task's defaults.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync<TArgs>(IEnumerable<TArgs> args, DbTransaction transaction, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull;
}
