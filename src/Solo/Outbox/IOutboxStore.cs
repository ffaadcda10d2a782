using System.Data.Common;

namespace Solo.Outbox;

/// <summary>
/// The transactional outbox: a table in the app's own database where enqueues made inside the app's
/// transaction wait until a relay publishes them. A row exists if and only if the transaction committed,
/// so a task is published if and only if its transaction commits, even when the process dies right after
/// the commit. Implemented by the database packages (<c>UseSqliteOutbox</c>, <c>UsePostgresOutbox</c>).
/// </summary>
public interface IOutboxStore
{
    /// <summary>
    /// Writes <paramref name="messages"/> to the outbox inside <paramref name="transaction"/>, which stays
    /// the caller's to commit or roll back.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The transaction belongs to another kind of database, or to another database than the outbox's.
    /// </exception>
    ValueTask WriteAsync(DbTransaction transaction, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="maxMessages"/> committed messages, oldest first, so that no other relay
    /// publishes them while the batch lives. An empty batch means there is nothing to publish now.
    /// </summary>
    /// <exception cref="BackendUnavailableException">The database could not be reached.</exception>
    ValueTask<IOutboxBatch> ClaimAsync(int maxMessages, CancellationToken cancellationToken);

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for a sign that another process committed messages (e.g.
    /// PostgreSQL's NOTIFY); returns at once when it was given one since the last call. A store without
    /// such signals waits the whole timeout.
    /// </summary>
    ValueTask WaitForMessagesAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>The number of committed messages not yet published, claimed or not.</summary>
    /// <exception cref="BackendUnavailableException">The database could not be reached.</exception>
    ValueTask<long> CountAsync(CancellationToken cancellationToken);
}
