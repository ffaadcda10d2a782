using Solo.Brokers;

namespace Solo.Redis.Brokers;

/// <summary>
/// One delivery of a <see cref="RedisStreamsBroker"/> message. Its entry id, consumer and delivery count
/// name the lease it was given; once the pending entry no longer matches them (settled, taken over, or
/// idle past the lease), settling does nothing and renewing returns false.
/// </summary>
internal sealed class RedisDelivery(RedisStreamsBroker broker, StreamQueue queue, string entryId, string messageId, ReadOnlyMemory<byte> body, int deliveryCount) : IDelivery
{
    public string MessageId => messageId;

    public string Queue => queue.Name;

    public ReadOnlyMemory<byte> Body => body;

    public int DeliveryCount => deliveryCount;

    internal StreamQueue StreamQueue => queue;

    internal string EntryId => entryId;

    public ValueTask AckAsync(CancellationToken cancellationToken) => broker.AckAsync(this, cancellationToken);

    public ValueTask RequeueAsync(OutgoingMessage replacement, CancellationToken cancellationToken) => broker.RequeueAsync(this, replacement, cancellationToken);

    public ValueTask DeadLetterAsync(string reason, CancellationToken cancellationToken) => broker.DeadLetterAsync(this, reason, cancellationToken);

    public ValueTask<bool> RenewAsync(CancellationToken cancellationToken) => broker.RenewAsync(this, cancellationToken);
}
