using Solo.Brokers;

namespace Solo.InMemory;

/// <summary>
/// One delivery of an <see cref="InMemoryBroker"/> message. It holds the id of the lease it was given,
/// so once that lease has ended (by time or by settling) it can no longer touch the message, even
/// after the message was delivered again to someone else.
/// </summary>
internal sealed class InMemoryDelivery(InMemoryBroker broker, InMemoryQueue queue, InMemoryQueue.Message message, long lease) : IDelivery
{
    public string MessageId => message.Id;

    public string Queue => queue.Name;

    public ReadOnlyMemory<byte> Body => message.Body;

    // Captured now: the message's own count grows when it is delivered again.
    public int DeliveryCount { get; } = message.DeliveryCount;

    public ValueTask AckAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        broker.Ack(queue, message, lease);
        return ValueTask.CompletedTask;
    }

    public ValueTask RequeueAsync(OutgoingMessage replacement, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        broker.Requeue(queue, message, lease, replacement);
        return ValueTask.CompletedTask;
    }

    public ValueTask DeadLetterAsync(string reason, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        broker.DeadLetter(queue, message, lease, reason);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> RenewAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(broker.Renew(queue, message, lease));
    }
}
