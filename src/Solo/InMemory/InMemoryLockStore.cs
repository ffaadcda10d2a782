using System.Runtime.CompilerServices;
using Solo.Locks;

namespace Solo.InMemory;

/// <summary>
/// A lock store that keeps its locks in the process's memory, for tests and single-process use. It keeps
/// the promises of <see cref="ILockStore"/>: atomic operations, compare-and-delete release, and fencing
/// tokens from one store-wide counter, so a key's tokens grow even across its release and deletion.
/// </summary>
/// <remarks>
/// All time comes from the <see cref="TimeProvider"/>, so a fake clock drives expiry. Expired locks are
/// deleted by the next operation on the store, whatever its key, so the store holds only live locks.
/// </remarks>
public sealed class InMemoryLockStore : ILockStore
{
    // Below this many stale expiry entries the heap is not worth rebuilding.
    private const int StaleExpirySlack = 64;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _locks = new(StringComparer.Ordinal);

    // Every lock's current end is in here; renewals and releases leave their old entries behind, which are
    // skipped when they surface and dropped in bulk when they pile up.
    private readonly PriorityQueue<string, DateTimeOffset> _expiries = new();
    private readonly TimeProvider _time;
    private long _lastToken;

    /// <summary>Creates an empty lock store.</summary>
    /// <param name="timeProvider">The clock of TTLs.</param>
    public InMemoryLockStore(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
    }

    /// <summary>Locks stored, which after any operation are the live ones; for tests.</summary>
    internal int StoredLocks
    {
        get
        {
            lock (_gate)
            {
                return _locks.Count;
            }
        }
    }

    /// <summary>Expiry heap entries, live and stale; for tests.</summary>
    internal int ExpiryEntries
    {
        get
        {
            lock (_gate)
            {
                return _expiries.Count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(Acquire(key, owner, ttl, Sweep()));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<LockResult>> TryAcquireManyAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        foreach (var request in requests)
        {
            ArgumentNullException.ThrowIfNull(request, nameof(requests));
            ValidateKey(request.Key);
            ValidateOwner(request.Owner);
            ValidateTtl(request.Ttl);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var results = new LockResult[requests.Count];
        lock (_gate)
        {
            var now = Sweep();
            for (var i = 0; i < results.Length; i++)
            {
                results[i] = Acquire(requests[i].Key, requests[i].Owner, requests[i].Ttl, now);
            }
        }

        return ValueTask.FromResult<IReadOnlyList<LockResult>>(results);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Both keys are the same: the call would take and drop one lock.</exception>
    public ValueTask<LockResult> TryAcquireAndReleaseAsync(string acquireKey, string releaseKey, string owner, long? releaseFencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(acquireKey);
        ValidateKey(releaseKey);
        if (string.Equals(acquireKey, releaseKey, StringComparison.Ordinal))
        {
            throw new ArgumentException("The key to acquire and the key to release must differ.", nameof(releaseKey));
        }

        ValidateOwner(owner);
        ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var result = Acquire(acquireKey, owner, ttl, Sweep());
            if (result.Acquired && _locks.TryGetValue(releaseKey, out var held) && held.Owner == owner && (releaseFencingToken is null || held.Token == releaseFencingToken))
            {
                _locks.Remove(releaseKey);
            }

            return ValueTask.FromResult(result);
        }
    }

    /// <inheritdoc />
    public ValueTask<LockResult> ReplaceOwnerAsync(string key, string expectedOwner, string newOwner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(expectedOwner);
        ValidateOwner(newOwner);
        ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = Sweep();
            if (!_locks.TryGetValue(key, out var held))
            {
                return ValueTask.FromResult(new LockResult(false, null, 0, default));
            }

            if (held.Owner != expectedOwner)
            {
                return ValueTask.FromResult(new LockResult(false, held.Owner, held.Token, held.ExpiresAt));
            }

            return ValueTask.FromResult(Take(key, newOwner, ttl, now));
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = Sweep();
            if (!_locks.TryGetValue(key, out var held) || !held.IsHeldBy(owner, fencingToken))
            {
                return ValueTask.FromResult(false);
            }

            var expiresAt = now + ttl;
            _locks[key] = held with { ExpiresAt = expiresAt };
            _expiries.Enqueue(key, expiresAt);
            CompactExpiriesIfStale();
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            Sweep();
            if (!_locks.TryGetValue(key, out var held) || !held.IsHeldBy(owner, fencingToken))
            {
                return ValueTask.FromResult(false);
            }

            // Deleted outright: fencing tokens come from the store-wide counter, so no tombstone is needed.
            _locks.Remove(key);
            CompactExpiriesIfStale();
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            Sweep();
            return ValueTask.FromResult(_locks.TryGetValue(key, out var held) ? held.ToInfo(key) : null);
        }
    }

    /// <inheritdoc />
    /// <remarks>The locks are read when enumeration starts and come in ordinal order of their keys.</remarks>
    public IAsyncEnumerable<LockInfo> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return ListCoreAsync(prefix, cancellationToken);
    }

    private static void ValidateKey(string key) => ArgumentException.ThrowIfNullOrEmpty(key);

    private static void ValidateOwner(string owner) => ArgumentException.ThrowIfNullOrEmpty(owner);

    private static void ValidateTtl(TimeSpan ttl) => ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);

    private async IAsyncEnumerable<LockInfo> ListCoreAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        LockInfo[] live;
        lock (_gate)
        {
            Sweep();
            live = _locks
                .Where(pair => pair.Key.StartsWith(prefix, StringComparison.Ordinal))
                .Select(pair => pair.Value.ToInfo(pair.Key))
                .ToArray();
        }

        Array.Sort(live, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var info in live)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }

    /// <summary>Takes the key when free or held by <paramref name="owner"/>; else reports the holder.</summary>
    private LockResult Acquire(string key, string owner, TimeSpan ttl, DateTimeOffset now)
    {
        if (_locks.TryGetValue(key, out var held) && held.Owner != owner)
        {
            return new LockResult(false, held.Owner, held.Token, held.ExpiresAt);
        }

        return Take(key, owner, ttl, now);
    }

    private LockResult Take(string key, string owner, TimeSpan ttl, DateTimeOffset now)
    {
        var entry = new Entry(owner, ++_lastToken, now + ttl);
        _locks[key] = entry;
        _expiries.Enqueue(key, entry.ExpiresAt);
        CompactExpiriesIfStale();
        return new LockResult(true, owner, entry.Token, entry.ExpiresAt);
    }

    /// <summary>Deletes every expired lock and returns the current time; after it, every stored lock is live.</summary>
    private DateTimeOffset Sweep()
    {
        var now = _time.GetUtcNow();
        while (_expiries.TryPeek(out var key, out var expiresAt) && expiresAt <= now)
        {
            _expiries.Dequeue();
            // The entry may be stale (the lock was renewed, released or taken again); only the lock's
            // own end counts.
            if (_locks.TryGetValue(key, out var held) && held.ExpiresAt <= now)
            {
                _locks.Remove(key);
            }
        }

        return now;
    }

    private void CompactExpiriesIfStale()
    {
        // Rebuilding costs O(locks) and happens only after about as many renewals or releases as there
        // are locks (plus the slack), so it is O(1) per operation over time.
        if (_expiries.Count <= (2 * _locks.Count) + StaleExpirySlack)
        {
            return;
        }

        _expiries.Clear();
        foreach (var (key, entry) in _locks)
        {
            _expiries.Enqueue(key, entry.ExpiresAt);
        }
    }

    private sealed record Entry(string Owner, long Token, DateTimeOffset ExpiresAt)
    {
        public LockInfo ToInfo(string key) => new(key, Owner, Token, ExpiresAt);

        public bool IsHeldBy(string owner, long token) => Owner == owner && Token == token;
    }
}
