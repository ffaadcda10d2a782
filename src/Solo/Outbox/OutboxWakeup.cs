using System.Collections.Concurrent;
using System.Data.Common;
using Solo.Shared;

namespace Solo.Outbox;

/// <summary>
/// Wakes this process's relay when a transaction that wrote to the outbox ends, so a committed task is
/// published within about a millisecond instead of at the next poll. ADO.NET has no commit event, but a
/// provider's transaction lets go of its connection once committed or rolled back; the transactions that
/// wrote to the outbox are watched for that while any is open.
/// </summary>
internal sealed class OutboxWakeup(TimeProvider time)
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(1);

    private readonly ConcurrentDictionary<DbTransaction, byte> _open = new();
    private readonly WakeSignal _signal = new();
    private int _watching;

    /// <summary>Wakes the relay once <paramref name="transaction"/> has ended.</summary>
    public void WakeAfter(DbTransaction transaction)
    {
        _open.TryAdd(transaction, 0);
        if (Interlocked.CompareExchange(ref _watching, 1, 0) == 0)
        {
            _ = Task.Run(WatchAsync);
        }
    }

    /// <summary>Wakes the relay now.</summary>
    public void Wake() => _signal.Set();

    /// <summary>Returns when woken since the last call, or after <paramref name="timeout"/>.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, time, cancellationToken);

    private async Task WatchAsync()
    {
        while (true)
        {
            var ended = false;
            foreach (var transaction in _open.Keys)
            {
                if (transaction.Connection is null)
                {
                    _open.TryRemove(transaction, out _);
                    ended = true;
                }
            }

            if (ended)
            {
                Wake();
            }

            if (_open.IsEmpty)
            {
                Volatile.Write(ref _watching, 0);

                // A transaction added after the check above, but before the flag was cleared, needs a watcher.
                if (_open.IsEmpty || Interlocked.CompareExchange(ref _watching, 1, 0) != 0)
                {
                    return;
                }
            }

            await Task.Delay(WatchInterval, time).ConfigureAwait(false);
        }
    }
}
