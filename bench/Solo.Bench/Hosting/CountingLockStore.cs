using Solo.Locks;

namespace Solo.Bench.Hosting;

/// <summary>
/// Passes every call through and counts the acquisitions refused at task start (run slot swaps and
/// single acquisitions; the client only takes locks in batches). Each refusal is a reschedule or a
/// dropped run, which is where contention costs time, so the scenarios report it.
/// </summary>
internal sealed class CountingLockStore(ILockStore inner) : ILockStore
{
    private long _startRefusals;

    public long StartRefusals => Interlocked.Read(ref _startRefusals);

    public async ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken) =>
        Count(await inner.TryAcquireAsync(key, owner, ttl, cancellationToken));

    public ValueTask<IReadOnlyList<LockResult>> TryAcquireManyAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken) =>
        inner.TryAcquireManyAsync(requests, cancellationToken);

    public async ValueTask<LockResult> TryAcquireAndReleaseAsync(string acquireKey, string releaseKey, string owner, long? releaseFencingToken, TimeSpan ttl, CancellationToken cancellationToken) =>
        Count(await inner.TryAcquireAndReleaseAsync(acquireKey, releaseKey, owner, releaseFencingToken, ttl, cancellationToken));

    public ValueTask<LockResult> ReplaceOwnerAsync(string key, string expectedOwner, string newOwner, TimeSpan ttl, CancellationToken cancellationToken) =>
        inner.ReplaceOwnerAsync(key, expectedOwner, newOwner, ttl, cancellationToken);

    public ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken) =>
        inner.RenewAsync(key, owner, fencingToken, ttl, cancellationToken);

    public ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken) =>
        inner.ReleaseAsync(key, owner, fencingToken, cancellationToken);

    public ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken) =>
        inner.GetAsync(key, cancellationToken);

    public IAsyncEnumerable<LockInfo> ListAsync(string prefix, CancellationToken cancellationToken) =>
        inner.ListAsync(prefix, cancellationToken);

    private LockResult Count(LockResult result)
    {
        if (!result.Acquired)
        {
            Interlocked.Increment(ref _startRefusals);
        }

        return result;
    }
}
