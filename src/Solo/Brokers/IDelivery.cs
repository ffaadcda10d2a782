namespace Solo.Brokers;

/// <summary>A message received from a <see cref="IBroker"/> and leased to its receiver until settled.</summary>
public interface IDelivery
{
    /// <summary>The id the message was published with.</summary>
    string MessageId { get; }

    /// <summary>The queue it was received from.</summary>
    string Queue { get; }

    /// <summary>The bytes it was published with.</summary>
    ReadOnlyMemory<byte> Body { get; }

    /// <summary>1 on the first delivery; more when the broker delivered it again after an unsettled lease.</summary>
    int DeliveryCount { get; }

    /// <summary>Removes the message for good.</summary>
    ValueTask AckAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the message by <paramref name="replacement"/>, which is delivered at its start time.
    /// Used for retries and reschedules; as atomic as the broker allows, and never losing both.
    /// </summary>
    ValueTask RequeueAsync(OutgoingMessage replacement, CancellationToken cancellationToken);

    /// <summary>Moves the message to the queue's dead letters with a reason.</summary>
    ValueTask DeadLetterAsync(string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Extends the lease of a message still being worked on. Returns false when the lease was
    /// already lost (the broker may deliver the message to someone else).
    /// </summary>
    ValueTask<bool> RenewAsync(CancellationToken cancellationToken);
}
