using Solo.Locks;

namespace Solo.Tests.Support;

/// <summary>
/// A lock store decorator that lets a test observe acquisitions and releases at the moment they take
/// effect: <see cref="BeforeRelease"/> runs before the release reaches the store, so nobody can take
/// the key in between; <see cref="Acquired"/> runs after a successful acquisition.
/// </summary>
public sealed class ObservedLockStore(ILockStore inner) : ILockStore
{
    public Action<string, string>? BeforeRelease { get; set; }

    public Action<string, LockResult>? Acquired { get; set; }

    /// <summary>Runs before a single acquisition is sent: a process that stalls right there.</summary>
    public Action<string, string>? BeforeAcquire { get; set; }

    /// <summary>When set, thrown by every renewal: a store out of reach.</summary>
    public Exception? RenewalFault { get; set; }

    public async ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        BeforeAcquire?.Invoke(key, owner);
        return Observe(key, await inner.TryAcquireAsync(key, owner, ttl, cancellationToken));
    }

    public async ValueTask<IReadOnlyList<LockResult>> TryAcquireManyAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken)
    {
        var results = await inner.TryAcquireManyAsync(requests, cancellationToken);
        for (var i = 0; i < results.Count; i++)
        {
            Observe(requests[i].Key, results[i]);
        }

        return results;
    }

    public async ValueTask<LockResult> TryAcquireAndReleaseAsync(string acquireKey, string releaseKey, string owner, long? releaseFencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        BeforeRelease?.Invoke(releaseKey, owner);
        return Observe(acquireKey, await inner.TryAcquireAndReleaseAsync(acquireKey, releaseKey, owner, releaseFencingToken, ttl, cancellationToken));
    }

    public async ValueTask<LockResult> ReplaceOwnerAsync(string key, string expectedOwner, string newOwner, TimeSpan ttl, CancellationToken cancellationToken) =>
        Observe(key, await inner.ReplaceOwnerAsync(key, expectedOwner, newOwner, ttl, cancellationToken));

    public ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken) =>
        RenewalFault is { } fault ? ValueTask.FromException<bool>(fault) : inner.RenewAsync(key, owner, fencingToken, ttl, cancellationToken);

    public ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken)
    {
        BeforeRelease?.Invoke(key, owner);
        return inner.ReleaseAsync(key, owner, fencingToken, cancellationToken);
    }

    public ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

    public IAsyncEnumerable<LockInfo> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

    private LockResult Observe(string key, LockResult result)
    {
        if (result.Acquired)
        {
            Acquired?.Invoke(key, result);
        }

        return result;
    }
}
