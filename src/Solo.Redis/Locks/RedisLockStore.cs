using System.Globalization;
using System.Runtime.CompilerServices;
using Solo.Locks;
using Solo.Redis.Connection;
using Solo.Redis.Locks;
using StackExchange.Redis;

namespace Solo.Redis;

/// <summary>
/// A lock store on Redis (standalone, or Cluster when the keys of one call share a hash slot, as Solo's
/// do). Every operation is one Lua script, so it is atomic; every release is compare-and-delete; a task's
/// whole lock life costs at most three round trips plus its lease renewals (take at enqueue, swap the
/// queue slot for the run slot at start, release at the end).
/// </summary>
/// <remarks>
/// <para>
/// Each lock is one string key whose Redis expiry is the lock's TTL, so Redis forgets it when its lease
/// ends; a released or expired lock leaves no key behind, and the store keeps no index of any kind.
/// </para>
/// <para>
/// Fencing tokens come from the Redis server's clock (<c>TIME</c>, in microseconds), raised to one more
/// than the token held in the key while the key lives. A key's tokens therefore grow across releases and
/// expiries without any counter key, which also keeps every script within one hash slot. The price: the
/// promise holds only while the server clock does not go backwards. A clock stepped back (by NTP, or a
/// failover to a replica whose clock lags the old primary's) can hand out a token smaller than one handed
/// out before the step, for a key that was free in between. Keep the servers' clocks synchronised and
/// slewed rather than stepped if tasks guard their writes with the token.
/// </para>
/// <para>
/// Expiry times (<see cref="LockResult.ExpiresAt"/>, <see cref="LockInfo.ExpiresAt"/>) are on the server's
/// clock as well; the store reads no local time. The store does not own its connection:
/// dispose it yourself, after the store is no longer used.
/// </para>
/// </remarks>
public sealed class RedisLockStore : ILockStore
{
    // The last millisecond a DateTimeOffset can hold; a longer TTL is reported as ending then.
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private readonly RedisBackend _backend;
    private readonly string _prefix;

    /// <summary>Creates a lock store on a connection.</summary>
    /// <param name="connection">
    /// The connection; share one per server across the app. Configure it with
    /// <c>AbortOnConnectFail = false</c> so that it reconnects by itself, and a fail-fast backlog policy so
    /// that calls fail at once while Redis is down (<c>UseRedis</c> does both).
    /// </param>
    /// <param name="options">Its settings, read once, here; null for the defaults.</param>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public RedisLockStore(IConnectionMultiplexer connection, RedisLockStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var settings = (options ?? new RedisLockStoreOptions()).Clone();
        settings.Validate(nameof(options));
        _backend = new RedisBackend(connection);
        _prefix = settings.KeyPrefix;
    }

    /// <inheritdoc />
    /// <exception cref="BackendUnavailableException">Redis could not be reached; nothing was taken.</exception>
    public async ValueTask<LockResult> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        var ms = TtlMilliseconds(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = await _backend.EvaluateAsync(LockScripts.TryAcquire, [Key(key)], [owner, ms]).ConfigureAwait(false);
        return ToResult((RedisResult[])reply!, 0);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One round trip: one script for all keys outside a cluster, or one script per hash slot, all sent
    /// before the first reply is awaited, on a cluster. Each script is atomic; a key requested twice is
    /// taken by its first request only.
    /// </remarks>
    /// <exception cref="BackendUnavailableException">
    /// Redis could not be reached. On a cluster, the locks of slots whose node answered may have been taken.
    /// </exception>
    public async ValueTask<IReadOnlyList<LockResult>> TryAcquireManyAsync(IReadOnlyList<LockRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var ttls = new long[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i] ?? throw new ArgumentNullException(nameof(requests), "A request is null.");
            ValidateKey(request.Key);
            ValidateOwner(request.Owner);
            ttls[i] = TtlMilliseconds(request.Ttl);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var results = new LockResult[requests.Count];
        if (requests.Count == 0)
        {
            return results;
        }

        // The common single enqueue needs no grouping by slot.
        if (requests.Count == 1)
        {
            var reply = await _backend.EvaluateAsync(LockScripts.TryAcquire, [Key(requests[0].Key)], [requests[0].Owner, ttls[0]]).ConfigureAwait(false);
            results[0] = ToResult((RedisResult[])reply!, 0);
            return results;
        }

        var groups = new Dictionary<int, List<int>>();
        for (var i = 0; i < requests.Count; i++)
        {
            var slot = _backend.Slot(Key(requests[i].Key));
            if (!groups.TryGetValue(slot, out var members))
            {
                members = [];
                groups.Add(slot, members);
            }

            members.Add(i);
        }

        // Every script is handed to the client before any reply is awaited, so they share one round trip.
        var sent = new List<(List<int> Members, Task<RedisResult> Reply)>(groups.Count);
        foreach (var members in groups.Values)
        {
            var keys = new RedisKey[members.Count];
            var args = new RedisValue[members.Count * 2];
            for (var j = 0; j < members.Count; j++)
            {
                var request = requests[members[j]];
                keys[j] = Key(request.Key);
                args[2 * j] = request.Owner;
                args[(2 * j) + 1] = ttls[members[j]];
            }

            sent.Add((members, _backend.EvaluateAsync(LockScripts.TryAcquireMany, keys, args)));
        }

        // All awaited together, so that a failure of one slot's script leaves no other unobserved.
        await Task.WhenAll(sent.Select(s => s.Reply)).ConfigureAwait(false);
        foreach (var (members, reply) in sent)
        {
            var values = (RedisResult[])reply.Result!;
            for (var j = 0; j < members.Count; j++)
            {
                results[members[j]] = ToResult(values, 4 * j);
            }
        }

        return results;
    }

    /// <inheritdoc />
    /// <remarks>One script. On a cluster both keys must share a hash slot, as Solo's two slots of a key do.</remarks>
    /// <exception cref="ArgumentException">Both keys are the same: the call would take and drop one lock.</exception>
    /// <exception cref="BackendUnavailableException">Redis could not be reached; nothing changed.</exception>
    public async ValueTask<LockResult> TryAcquireAndReleaseAsync(string acquireKey, string releaseKey, string owner, long? releaseFencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(acquireKey);
        ValidateKey(releaseKey);
        if (string.Equals(acquireKey, releaseKey, StringComparison.Ordinal))
        {
            throw new ArgumentException("The key to acquire and the key to release must differ.", nameof(releaseKey));
        }

        ValidateOwner(owner);
        var ms = TtlMilliseconds(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = await _backend.EvaluateAsync(LockScripts.TryAcquireAndRelease, [Key(acquireKey), Key(releaseKey)], [owner, ms, releaseFencingToken is { } token ? token : RedisValue.EmptyString]).ConfigureAwait(false);
        return ToResult((RedisResult[])reply!, 0);
    }

    /// <inheritdoc />
    /// <exception cref="BackendUnavailableException">Redis could not be reached; nothing changed.</exception>
    public async ValueTask<LockResult> ReplaceOwnerAsync(string key, string expectedOwner, string newOwner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(expectedOwner);
        ValidateOwner(newOwner);
        var ms = TtlMilliseconds(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = await _backend.EvaluateAsync(LockScripts.ReplaceOwner, [Key(key)], [expectedOwner, newOwner, ms]).ConfigureAwait(false);
        return ToResult((RedisResult[])reply!, 0);
    }

    /// <inheritdoc />
    /// <exception cref="BackendUnavailableException">Redis could not be reached; whether the lock is still held is unknown.</exception>
    public async ValueTask<bool> RenewAsync(string key, string owner, long fencingToken, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        var ms = TtlMilliseconds(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = await _backend.EvaluateAsync(LockScripts.Renew, [Key(key)], [owner, ms, fencingToken]).ConfigureAwait(false);
        return (long)reply == 1;
    }

    /// <inheritdoc />
    /// <exception cref="BackendUnavailableException">Redis could not be reached; the lock ends with its TTL.</exception>
    public async ValueTask<bool> ReleaseAsync(string key, string owner, long fencingToken, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        ValidateOwner(owner);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = await _backend.EvaluateAsync(LockScripts.Release, [Key(key)], [owner, fencingToken]).ConfigureAwait(false);
        return (long)reply == 1;
    }

    /// <inheritdoc />
    /// <exception cref="BackendUnavailableException">Redis could not be reached.</exception>
    public async ValueTask<LockInfo?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ValidateKey(key);
        cancellationToken.ThrowIfCancellationRequested();
        var value = await _backend.RunAsync(db => db.StringGetAsync(Key(key))).ConfigureAwait(false);
        return Parse(key, value);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Walks the keys with <c>SCAN</c> (never <c>KEYS</c>) on every primary, a page at a time, reading each
    /// page's values in one pipelined round trip; keys that do not hold a lock of this store are skipped.
    /// As any <c>SCAN</c>, it sees every lock that lives throughout the walk, and may or may not see one
    /// taken or released during it. The order is the server's.
    /// </remarks>
    /// <exception cref="BackendUnavailableException">Redis could not be reached.</exception>
    public IAsyncEnumerable<LockInfo> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return ListCoreAsync(prefix, cancellationToken);
    }

    private static void ValidateKey(string key) => ArgumentException.ThrowIfNullOrEmpty(key);

    private static void ValidateOwner(string owner) => ArgumentException.ThrowIfNullOrEmpty(owner);

    private static long TtlMilliseconds(TimeSpan ttl)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        // Rounded up: a lock never ends before its TTL.
        return Math.Max(1, (long)Math.Ceiling(ttl.TotalMilliseconds));
    }

    private static DateTimeOffset FromUnixMilliseconds(long ms) =>
        ms >= MaxUnixMilliseconds ? DateTimeOffset.MaxValue : DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static LockResult ToResult(RedisResult[] values, int offset)
    {
        var owner = (string?)values[offset + 1];
        return new LockResult(
            (long)values[offset] == 1,
            string.IsNullOrEmpty(owner) ? null : owner,
            (long)values[offset + 2],
            owner is null or "" ? default : FromUnixMilliseconds((long)values[offset + 3]));
    }

    /// <summary>Reads a stored <c>token|expiresAtMs|owner</c>; null for a missing key or a value of another kind.</summary>
    private static LockInfo? Parse(string key, RedisValue value)
    {
        if (value.IsNull)
        {
            return null;
        }

        var text = (string)value!;
        var first = text.IndexOf('|', StringComparison.Ordinal);
        var second = first < 0 ? -1 : text.IndexOf('|', first + 1);
        if (second < 0
            || !long.TryParse(text.AsSpan(0, first), NumberStyles.None, CultureInfo.InvariantCulture, out var token)
            || !long.TryParse(text.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var expiresAt))
        {
            return null;
        }

        return new LockInfo(key, text[(second + 1)..], token, FromUnixMilliseconds(expiresAt));
    }

    private static string EscapeGlob(string text)
    {
        var escaped = new System.Text.StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }

    private RedisKey Key(string key) => _prefix.Length == 0 ? (RedisKey)key : (RedisKey)(_prefix + key);

    private async IAsyncEnumerable<LockInfo> ListCoreAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pattern = EscapeGlob(_prefix + prefix) + "*";
        var database = _backend.Database.Database;
        foreach (var server in _backend.Connection.GetServers())
        {
            if (server.IsReplica)
            {
                continue;
            }

            var cursor = "0";
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                // TYPE string: a prefix shared with other data (the broker's streams) must not fail the walk.
                var page = (RedisResult[])(await _backend.RunAsync(_ => server.ExecuteAsync(database, "SCAN", [cursor, "MATCH", pattern, "COUNT", 512, "TYPE", "string"])).ConfigureAwait(false))!;
                cursor = (string)page[0]!;
                var keys = (RedisKey[])page[1]!;
                if (keys.Length == 0)
                {
                    continue;
                }

                var reads = new Task<RedisValue>[keys.Length];
                for (var i = 0; i < keys.Length; i++)
                {
                    reads[i] = _backend.Database.StringGetAsync(keys[i]);
                }

                var values = await _backend.AwaitAsync(Task.WhenAll(reads)).ConfigureAwait(false);
                for (var i = 0; i < keys.Length; i++)
                {
                    var key = ((string)keys[i]!)[_prefix.Length..];
                    if (Parse(key, values[i]) is { } info)
                    {
                        yield return info;
                    }
                }
            }
            while (cursor != "0");
        }
    }
}
