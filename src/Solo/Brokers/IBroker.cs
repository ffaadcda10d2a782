namespace Solo.Brokers;

/// <summary>
/// A durable message broker as Solo needs it: publish (with an optional start time), receive with
/// explicit acknowledgement (acks-late), dead-letter with a reason. Every backend implements it and
/// passes the broker conformance suite.
/// </summary>
/// <remarks>
/// A received message is leased to its receiver. If the receiver neither settles it
/// (<see cref="IDelivery.AckAsync"/>, <see cref="IDelivery.RequeueAsync"/>,
/// <see cref="IDelivery.DeadLetterAsync"/>) nor renews it before the lease ends (or before its
/// connection dies, for brokers that track consumers), the broker delivers it again.
/// </remarks>
public interface IBroker
{
    /// <summary>
    /// Stores the messages durably. When this completes, every message is stored; when it throws,
    /// none, some or all may be stored (publish is at-least-once, never silently lossy).
    /// </summary>
    ValueTask PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken);

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> messages of <paramref name="queue"/> whose start
    /// time has come, waiting up to <paramref name="wait"/> for the first. Returns an empty list when
    /// none arrived in time.
    /// </summary>
    ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>
    /// How long a received message stays leased without renewal, or null for a broker that tracks its
    /// consumers instead (a delivery then lasts as long as its connection). Workers renew well within it.
    /// </summary>
    TimeSpan? DeliveryLease => null;

    /// <summary>Counts the messages of a queue by state.</summary>
    ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken);

    /// <summary>Reads up to <paramref name="maxMessages"/> dead letters of a queue, oldest first.</summary>
    ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken);
}
