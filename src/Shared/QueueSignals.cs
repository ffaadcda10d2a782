using Solo.Brokers;

namespace Solo.Shared;

/// <summary>
/// Wakes the receivers of this process that wait on a queue when a message is published to it: by this
/// process directly after its commit, and, for a backend that hears of other processes' publishes (a
/// PostgreSQL listener), by them too. Shared as source by the database brokers (src/Shared).
/// </summary>
internal sealed class QueueSignals
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next <see cref="Published(string)"/> of <paramref name="queue"/> (or <see cref="PublishedAnywhere"/>).</summary>
    public Task WhenPublished(string queue)
    {
        lock (_gate)
        {
            if (!_waiting.TryGetValue(queue, out var signal))
            {
                signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting.Add(queue, signal);
            }

            return signal.Task;
        }
    }

    /// <summary>Call once messages of <paramref name="queue"/> were committed.</summary>
    public void Published(string queue)
    {
        TaskCompletionSource? signal;
        lock (_gate)
        {
            if (!_waiting.Remove(queue, out signal))
            {
                return;
            }
        }

        signal.TrySetResult();
    }

    /// <summary>Call once <paramref name="messages"/> were committed: wakes the receivers of each of their queues.</summary>
    public void Published(IReadOnlyList<OutgoingMessage> messages)
    {
        foreach (var message in messages)
        {
            // A queue already signalled by an earlier message of the batch has no waiter left: a cheap no-op.
            Published(message.Queue);
        }
    }

    /// <summary>Wakes every waiting receiver, e.g. when notifications may have been missed.</summary>
    public void PublishedAnywhere()
    {
        TaskCompletionSource[] signals;
        lock (_gate)
        {
            signals = [.. _waiting.Values];
            _waiting.Clear();
        }

        foreach (var signal in signals)
        {
            signal.TrySetResult();
        }
    }
}
