using Solo.Brokers;

namespace Solo.Postgres.Brokers;

/// <summary>
/// One delivery of a <see cref="PostgresBroker"/> message. It holds the row and the lease token it was
/// given, so once that lease has ended (by time or by settling) it can no longer touch the row, even after
/// the message was delivered again to someone else, in any process.
/// </summary>
internal sealed class PostgresDelivery(PostgresBroker broker, long seq, Guid leaseToken, string messageId, string queue, byte[] body, int deliveryCount) : IDelivery
{
    public string MessageId => messageId;

    public string Queue => queue;

    public ReadOnlyMemory<byte> Body => body;

    public int DeliveryCount => deliveryCount;

    public ValueTask AckAsync(CancellationToken cancellationToken) =>
        new(broker.AckAsync(seq, leaseToken, cancellationToken));

    public ValueTask RequeueAsync(OutgoingMessage replacement, CancellationToken cancellationToken) =>
        new(broker.RequeueAsync(seq, leaseToken, replacement, cancellationToken));

    public ValueTask DeadLetterAsync(string reason, CancellationToken cancellationToken) =>
        new(broker.DeadLetterAsync(seq, leaseToken, reason, cancellationToken));

    public ValueTask<bool> RenewAsync(CancellationToken cancellationToken) =>
        new(broker.RenewAsync(seq, leaseToken, cancellationToken));
}
