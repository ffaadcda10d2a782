using System.Collections.Concurrent;
using Solo.Brokers;

namespace Solo.Tests.Support;

/// <summary>
/// A broker decorator that counts the publishes of each message id, and can be switched off to stand for a
/// broker that is down (publishes fail with <see cref="BackendUnavailableException"/>, nothing is stored).
/// </summary>
public sealed class RecordingBroker(IBroker inner) : IBroker
{
    private readonly ConcurrentDictionary<string, int> _publishes = new(StringComparer.Ordinal);

    public bool Down { get; set; }

    /// <summary>How many times each message id was published.</summary>
    public IReadOnlyDictionary<string, int> Publishes => _publishes;

    public TimeSpan? DeliveryLease => inner.DeliveryLease;

    public async ValueTask PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        if (Down)
        {
            throw new BackendUnavailableException("test broker", "down");
        }

        await inner.PublishAsync(messages, cancellationToken);
        foreach (var message in messages)
        {
            _publishes.AddOrUpdate(message.Id, 1, (_, n) => n + 1);
        }
    }

    public ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken) =>
        inner.ReceiveAsync(queue, maxMessages, wait, cancellationToken);

    public ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken) => inner.GetCountsAsync(queue, cancellationToken);

    public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken) =>
        inner.GetDeadLettersAsync(queue, maxMessages, cancellationToken);
}
