using RabbitMQ.Client;
using Solo.Brokers;

namespace Solo.RabbitMQ;

/// <summary>
/// One delivery of a <see cref="RabbitMQBroker"/> message, leased to its receiver. It remembers the channel
/// and delivery tag it came with and the consumer's generation at that time, so once its lease has ended
/// (settled, timed out, or lost with its channel) it never sends its tag to the server again: a stale or
/// unknown tag would make the server close the channel.
/// </summary>
internal sealed class RabbitMQDelivery(
    QueueConsumer owner,
    IChannel channel,
    ulong deliveryTag,
    int generation,
    string messageId,
    ReadOnlyMemory<byte> body,
    int deliveryCount) : IDelivery
{
    public const int Leased = 0;
    public const int Settling = 1;
    public const int Ended = 2;

    public string MessageId { get; } = messageId;

    public string Queue => owner.Queue;

    public ReadOnlyMemory<byte> Body { get; } = body;

    public int DeliveryCount { get; } = deliveryCount;

    internal IChannel Channel { get; } = channel;

    internal ulong DeliveryTag { get; } = deliveryTag;

    /// <summary>The consumer's generation when this arrived; a channel shutdown starts a new one.</summary>
    internal int Generation { get; } = generation;

    /// <summary>Guarded by locking this delivery, as are <see cref="LeaseEnds"/> and <see cref="Timer"/>.</summary>
    internal int State { get; set; } = Leased;

    internal DateTimeOffset LeaseEnds { get; set; }

    internal ITimer? Timer { get; set; }

    /// <summary>Called by the lease timer.</summary>
    internal void OnLeaseTimer() => owner.OnLeaseEnded(this);

    public ValueTask AckAsync(CancellationToken cancellationToken) => owner.AckAsync(this, cancellationToken);

    public ValueTask RequeueAsync(OutgoingMessage replacement, CancellationToken cancellationToken) => owner.RequeueAsync(this, replacement, cancellationToken);

    public ValueTask DeadLetterAsync(string reason, CancellationToken cancellationToken) => owner.DeadLetterAsync(this, reason, cancellationToken);

    public ValueTask<bool> RenewAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(owner.Renew(this));
    }
}
