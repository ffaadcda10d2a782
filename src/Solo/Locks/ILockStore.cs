namespace Solo.Locks;

/// <summary>
/// A store of leased locks: each key has at most one owner until its TTL ends. Every operation is
/// atomic, and every acquisition hands out a fencing token larger than any token handed out before for
/// that key. A holder is an owner <em>and</em> the token its acquisition got: renewals and releases
/// compare both, so a copy of the owner that holds an older token (a stale process, a forged message)
/// can neither extend nor delete the lock that a newer acquisition holds.
/// Every backend implements it and passes the lock store conformance suite.
/// </summary>
public interface ILockStore
{
    /// <summary>
    /// Takes <paramref name="key"/> for <paramref name="owner"/> when it is free or expired; when
    /// <paramref name="owner"/> holds it already, takes it again (new token, new TTL). Otherwise returns
    /// a result that is not acquired and names the holder.
    /// </summary>
    ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="TryAcquireAsync"/> for many keys in one call (one round trip where the backend allows);
    /// results come in the order of the requests. Each request succeeds or fails on its own.
    /// </summary>
    ValueTask<IReadOnlyList<LockResult>> TryAcquireManyAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically: takes <paramref name="acquireKey"/> as <see cref="TryAcquireAsync"/> does and, only if
    /// that succeeded, releases <paramref name="releaseKey"/> if <paramref name="owner"/> holds it with
    /// <paramref name="releaseFencingToken"/>, or with any token when that is null. Solo uses it to swap a
    /// task's queue slot for its run slot: a task that starts, having proved its lease, consumes whatever
    /// pending slot its id holds.
    /// </summary>
    ValueTask<LockResult> TryAcquireAndReleaseAsync(string acquireKey, string releaseKey, string owner, long? releaseFencingToken, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically: if <paramref name="expectedOwner"/> holds <paramref name="key"/>, hands it to
    /// <paramref name="newOwner"/> with a new token and TTL. Returns the state after the call; it is
    /// acquired only when the hand-over happened.
    /// </summary>
    ValueTask<LockResult> ReplaceOwnerAsync(string key, string expectedOwner, string newOwner, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a new TTL (keeping the token) if <paramref name="owner"/> still holds the key with
    /// <paramref name="fencingToken"/>. Returns false otherwise.
    /// </summary>
    ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the key if <paramref name="owner"/> holds it with <paramref name="fencingToken"/>
    /// (compare-and-delete). Returns false otherwise.
    /// </summary>
    ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken);

    /// <summary>The live lock of a key, or null when it is free or expired.</summary>
    ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>The live locks whose key starts with <paramref name="prefix"/> (an empty prefix lists all).</summary>
    IAsyncEnumerable<LockInfo> ListAsync(string prefix, CancellationToken cancellationToken);
}
