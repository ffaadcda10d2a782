using Solo.Brokers;

namespace Solo.Tests.Support;

/// <summary>
/// A real delivery as a stopped process holds it (SIGSTOP, a long GC pause, a frozen VM): it never renews
/// its lease, while everything else it does reaches the broker as usual once the process resumes.
/// </summary>
public sealed class StalledDelivery(IDelivery inner) : IDelivery
{
    public string MessageId => inner.MessageId;

    public string Queue => inner.Queue;

    public ReadOnlyMemory<byte> Body => inner.Body;

    public int DeliveryCount => inner.DeliveryCount;

    public ValueTask AckAsync(CancellationToken cancellationToken) => inner.AckAsync(cancellationToken);

    public ValueTask RequeueAsync(OutgoingMessage replacement, CancellationToken cancellationToken) => inner.RequeueAsync(replacement, cancellationToken);

    public ValueTask DeadLetterAsync(string reason, CancellationToken cancellationToken) => inner.DeadLetterAsync(reason, cancellationToken);

    public async ValueTask<bool> RenewAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return false;
    }
}
