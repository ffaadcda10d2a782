using System.Collections.Concurrent;
using Solo.Locks;

namespace Solo.Redis.Tests.Support;

/// <summary>
/// A lock store decorator that plays a worker cut off from the store: the lease renewals of
/// <see cref="StallRenewalsOf"/> never complete (until the caller gives up), so that owner's locks expire
/// while it still runs. It records every release and its outcome.
/// </summary>
public sealed class StallingLockStore(ILockStore inner) : ILockStore
{
    public string? StallRenewalsOf { get; set; }

    public ConcurrentQueue<(string Key, string Owner, bool Released)> Releases { get; } = new();

    public ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken) =>
        inner.TryAcquireAsync(key, owner, ttl, cancellationToken);

    public ValueTask<IReadOnlyList<LockResult>> TryAcquireManyAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken) =>
        inner.TryAcquireManyAsync(requests, cancellationToken);

    public ValueTask<LockResult> TryAcquireAndReleaseAsync(string acquireKey, string releaseKey, string owner, long? releaseFencingToken, TimeSpan ttl, CancellationToken cancellationToken) =>
        inner.TryAcquireAndReleaseAsync(acquireKey, releaseKey, owner, releaseFencingToken, ttl, cancellationToken);

    public ValueTask<LockResult> ReplaceOwnerAsync(string key, string expectedOwner, string newOwner, TimeSpan ttl, CancellationToken cancellationToken) =>
        inner.ReplaceOwnerAsync(key, expectedOwner, newOwner, ttl, cancellationToken);

    public async ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (owner == StallRenewalsOf)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return await inner.RenewAsync(key, owner, fencingToken, ttl, cancellationToken);
    }

    public async ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken)
    {
        var released = await inner.ReleaseAsync(key, owner, fencingToken, cancellationToken);
        Releases.Enqueue((key, owner, released));
        return released;
    }

    public ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

    public IAsyncEnumerable<LockInfo> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}
