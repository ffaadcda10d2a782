namespace Solo.Outbox;

/// <summary>
/// Outbox messages claimed by one relay. Complete it once they are published; dispose it without completing
/// to give them back for a later try.
/// </summary>
public interface IOutboxBatch : IAsyncDisposable
{
    /// <summary>The claimed messages, oldest first.</summary>
    IReadOnlyList<OutboxMessage> Messages { get; }

    /// <summary>Removes the claimed messages from the outbox: they were published.</summary>
    /// <exception cref="BackendUnavailableException">
    /// The database could not be reached; the messages stay and are published again later (at least once).
    /// </exception>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
