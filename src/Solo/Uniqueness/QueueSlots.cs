using Solo.Locks;

namespace Solo.Uniqueness;

/// <summary>
/// The enqueue side of a unique task's queue slot: take it (or hand it over, for Replace and Debounce)
/// before the task is published, and give it back when the task will not be published. A lock call that
/// fails without an answer may still have run on the server: its slot is remembered and released once the
/// store answers (<see cref="UncertainSlots"/>), so no slot stays without a task behind it.
/// </summary>
internal sealed class QueueSlots(ILockStore locks, TimeProvider time) : IDisposable
{
    private readonly UncertainSlots _uncertain = new(locks, time);

    /// <summary>Takes the slots, in one call; each request succeeds or fails on its own.</summary>
    public async Task<IReadOnlyList<LockResult>> TakeAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken)
    {
        // A slot this client may have left behind would otherwise answer Duplicate for a task never published.
        await _uncertain.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        return await UncertainAsync(requests, locks.TryAcquireManyAsync(requests, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Takes one slot that was free or expired after a hand-over failed.</summary>
    public Task<LockResult> TakeAsync(LockRequest request, CancellationToken cancellationToken) =>
        UncertainAsync([request], locks.TryAcquireAsync(request.Key, request.Owner, request.Ttl, cancellationToken));

    /// <summary>Hands the slot of <paramref name="holder"/> over to the request's owner (Replace, Debounce).</summary>
    public Task<LockResult> HandOverAsync(LockRequest request, string holder, CancellationToken cancellationToken) =>
        UncertainAsync([request], locks.ReplaceOwnerAsync(request.Key, holder, request.Owner, request.Ttl, cancellationToken));

    /// <summary>Gives back slots of tasks that will not be published; a slot the store cannot release now is released later.</summary>
    public async Task ReleaseAsync(IEnumerable<(string Key, string Owner, long FencingToken)> slots, CancellationToken cancellationToken)
    {
        foreach (var (key, owner, token) in slots)
        {
            try
            {
                await locks.ReleaseAsync(key, owner, token, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is BackendUnavailableException or OperationCanceledException)
            {
                _uncertain.Add(key, owner, token);
            }
        }
    }

    public void Dispose() => _uncertain.Dispose();

    private async Task<T> UncertainAsync<T>(IReadOnlyList<LockRequest> requests, ValueTask<T> call)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is BackendUnavailableException or OperationCanceledException)
        {
            foreach (var request in requests)
            {
                _uncertain.Add(request.Key, request.Owner, null);
            }

            throw;
        }
    }
}
