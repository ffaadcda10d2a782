namespace Solo.Sqlite;

/// <summary>
/// Wakes the receivers of this process that wait on a queue when this process stores a message in it, so
/// that they need not wait for their next poll. Publishes by other processes are seen by polling.
/// </summary>
internal sealed class QueueSignals
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next <see cref="Published"/> of <paramref name="queue"/>.</summary>
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

    /// <summary>Call after the commit that stored messages in <paramref name="queue"/>.</summary>
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
}
