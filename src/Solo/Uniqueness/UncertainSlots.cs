using System.Collections.Concurrent;
using Solo.Locks;

namespace Solo.Uniqueness;

/// <summary>
/// Queue slots this client may hold for tasks that were never published: a lock call whose reply was lost
/// (the server ran it, then the connection dropped), or a release after a failed publish that could not
/// reach the store. Left alone, such a slot answers <c>Duplicate</c> for its key until its TTL (an hour by
/// default) with no task behind it: the stuck-lock hole. Each is released (compare-and-delete, so a slot
/// the task never got, or that has since passed to another owner, is left as it is) before the next
/// enqueue and on a timer until the store answers. A slot whose token is unknown (the reply that carried
/// it was lost) is released with the token the store shows for it, if it still shows this task as owner:
/// the task was never published, so no other copy of it can hold that slot.
/// </summary>
internal sealed class UncertainSlots(ILockStore locks, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<(string Key, string Owner), long?> _slots = new();
    private readonly SemaphoreSlim _releasing = new(1, 1);
    private readonly Lock _timerGate = new();
    private ITimer? _timer;
    private bool _disposed;

    /// <param name="key">The queue slot.</param>
    /// <param name="owner">The task id that may hold it.</param>
    /// <param name="fencingToken">The token it was taken with, or null when the reply with it was lost.</param>
    public void Add(string key, string owner, long? fencingToken)
    {
        _slots.TryAdd((key, owner), fencingToken);
        lock (_timerGate)
        {
            if (!_disposed)
            {
                _timer ??= time.CreateTimer(_ => _ = ReleaseQuietlyAsync(), null, RetryInterval, RetryInterval);
            }
        }
    }

    /// <summary>Releases every slot it can; keeps the rest for the next try. Never throws for a store fault.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (_slots.IsEmpty)
        {
            return;
        }

        await _releasing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var (slot, token) in _slots)
            {
                try
                {
                    await ReleaseAsync(slot.Key, slot.Owner, token, cancellationToken).ConfigureAwait(false);
                }
                catch (BackendUnavailableException)
                {
                    // Still down: every other release would fail the same way.
                    return;
                }
#pragma warning disable CA1031 // Any other fault will not go away by retrying; the slot's TTL ends it.
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                }

                _slots.TryRemove(slot, out _);
            }
        }
        finally
        {
            _releasing.Release();
            StopTimerWhenEmpty();
        }
    }

    private async Task ReleaseAsync(string key, string owner, long? token, CancellationToken cancellationToken)
    {
        if (token is null)
        {
            var held = await locks.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (held is null || held.Owner != owner)
            {
                return;
            }

            token = held.FencingToken;
        }

        await locks.ReleaseAsync(key, owner, token.Value, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        lock (_timerGate)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }

    private async Task ReleaseQuietlyAsync()
    {
        try
        {
            await ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A timer callback has no caller to report to; the next tick tries again.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void StopTimerWhenEmpty()
    {
        lock (_timerGate)
        {
            if (_slots.IsEmpty && _timer is not null)
            {
                _timer.Dispose();
                _timer = null;
            }
        }
    }
}
