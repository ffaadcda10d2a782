using Solo.Locks;
using Solo.Redis.Tests.Support;
using StackExchange.Redis;

namespace Solo.Redis.Tests.Locks;

/// <summary>What only the Redis lock store promises: its round trips, its keys, and its fencing tokens.</summary>
public sealed class RedisLockStoreTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);
    private readonly string _prefix = RedisKeys.NewPrefix("locks");

    [Fact]
    public async Task TryAcquireManyAsync_FiftyKeys_SendsOneCommand()
    {
        using var connection = RedisServer.Shared.Connect();
        var counter = new CommandCounter(connection);
        var store = new RedisLockStore(connection);
        var requests = Enumerable.Range(0, 50).Select(i => new LockRequest($"{_prefix}{{work:{i}}}:q", $"task-{i}", Long)).ToArray();
        await store.TryAcquireAsync(requests[7].Key, "holder", Long, default);

        counter.Start();
        var results = await store.TryAcquireManyAsync(requests, default);
        var commands = counter.Stop();

        Assert.Equal(["EVAL"], commands);
        Assert.Equal(49, results.Count(r => r.Acquired));
        Assert.Equal("holder", results[7].Owner);
        Assert.Equal(50, (await RedisKeys.UnderAsync(connection, _prefix)).Count);
    }

    [Fact]
    public async Task EveryOperation_SendsOneCommand()
    {
        using var connection = RedisServer.Shared.Connect();
        var counter = new CommandCounter(connection);
        var store = new RedisLockStore(connection);
        var q = _prefix + "{k}:q";
        var r = _prefix + "{k}:r";
        long queueToken = 0, runToken = 0;
        var operations = new (string Name, Func<Task> Run)[]
        {
            ("acquire", async () => await store.TryAcquireAsync(q, "t1", Long, default)),
            ("replace", async () => queueToken = (await store.ReplaceOwnerAsync(q, "t1", "t2", Long, default)).FencingToken),
            ("swap", async () => runToken = (await store.TryAcquireAndReleaseAsync(r, q, "t2", queueToken, Long, default)).FencingToken),
            ("renew", async () => await store.RenewAsync(r, "t2", runToken, Long, default)),
            ("get", async () => await store.GetAsync(r, default)),
            ("release", async () => await store.ReleaseAsync(r, "t2", runToken, default)),
        };

        foreach (var (name, run) in operations)
        {
            counter.Start();
            await run();
            var commands = counter.Stop();
            Assert.True(commands.Count == 1, $"{name} sent {string.Join(", ", commands)}");
        }

        Assert.Empty(await RedisKeys.UnderAsync(connection, _prefix));
    }

    [Fact]
    public async Task TryAcquireAsync_ReleaseAndReacquirePipelinedBackToBack_TokensStrictlyGrow()
    {
        // The hardest case for tokens taken from the server clock: no key survives between holders, and
        // the server runs each release and the next acquisition back to back, microseconds apart.
        var store = new RedisLockStore(RedisServer.SharedConnection);
        var key = _prefix + "{k}:r";
        var acquisitions = new List<Task<LockResult>>();
        var releases = new List<Task<bool>>();
        for (var i = 0; i < 500; i++)
        {
            acquisitions.Add(store.TryAcquireAsync(key, $"owner-{i}", Long, default).AsTask());
            // A release needs the token of its acquisition, which is not back yet: a plain DEL frees the key
            // in the same pipelined spot, which is what this test is about.
            releases.Add(RedisServer.SharedConnection.GetDatabase().KeyDeleteAsync(key));
        }

        var results = await Task.WhenAll(acquisitions);
        await Task.WhenAll(releases);

        Assert.All(results, r => Assert.True(r.Acquired));
        for (var i = 1; i < results.Length; i++)
        {
            Assert.True(results[i].FencingToken > results[i - 1].FencingToken, $"token {results[i].FencingToken} after {results[i - 1].FencingToken} (acquisition {i})");
        }

        Assert.All(releases, r => Assert.True(r.Result));
        Assert.Null(await store.GetAsync(key, default));
    }

    [Fact]
    public async Task TryAcquireAsync_Lock_IsOneStringKeyWhoseRedisExpiryIsTheTtl()
    {
        var store = new RedisLockStore(RedisServer.SharedConnection);
        var key = _prefix + "{k}:q";

        var result = await store.TryAcquireAsync(key, "owner|with|bars", TimeSpan.FromSeconds(90), default);

        var db = RedisServer.SharedConnection.GetDatabase();
        Assert.Equal([key], await RedisKeys.UnderAsync(RedisServer.SharedConnection, _prefix));
        Assert.Equal(RedisType.String, await db.KeyTypeAsync(key));
        var ttl = await db.KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(89), TimeSpan.FromSeconds(90));
        var info = await store.GetAsync(key, default);
        Assert.Equal("owner|with|bars", info?.Owner);
        Assert.Equal(result.FencingToken, info?.FencingToken);
        Assert.Equal(result.ExpiresAt, info?.ExpiresAt);
    }

    [Fact]
    public async Task TryAcquireAsync_TokenAndExpiry_ComeFromTheServerClock()
    {
        var store = new RedisLockStore(RedisServer.SharedConnection);
        var server = RedisServer.SharedConnection.GetServer(RedisServer.Shared.Configuration);

        var before = await server.TimeAsync();
        var result = await store.TryAcquireAsync(_prefix + "a", "owner", TimeSpan.FromSeconds(10), default);
        var after = await server.TimeAsync();

        var token = DateTime.UnixEpoch.AddTicks(result.FencingToken * 10);
        Assert.InRange(token, before, after);
        Assert.InRange(result.ExpiresAt.UtcDateTime, before.AddSeconds(10).AddMilliseconds(-1), after.AddSeconds(10));
    }

    [Fact]
    public async Task KeyPrefix_Set_StoresUnderItAndListsWithoutIt()
    {
        var storePrefix = RedisKeys.NewPrefix("store");
        var store = new RedisLockStore(RedisServer.SharedConnection, new RedisLockStoreOptions { KeyPrefix = storePrefix });

        await store.TryAcquireAsync("solo:{a}:q", "owner-1", Long, default);
        await store.TryAcquireAsync("solo:{b}:q", "owner-2", Long, default);
        await store.TryAcquireAsync("other:x", "owner-3", Long, default);

        Assert.Equal([storePrefix + "other:x", storePrefix + "solo:{a}:q", storePrefix + "solo:{b}:q"], await RedisKeys.UnderAsync(RedisServer.SharedConnection, storePrefix));
        var listed = new List<LockInfo>();
        await foreach (var info in store.ListAsync("solo:", default))
        {
            listed.Add(info);
        }

        Assert.Equal(["solo:{a}:q", "solo:{b}:q"], listed.Select(l => l.Key).Order(StringComparer.Ordinal));
        Assert.Equal("owner-1", (await store.GetAsync("solo:{a}:q", default))?.Owner);
    }

    [Fact]
    public async Task ListAsync_PrefixWithGlobCharactersAndOtherDataTypes_MatchesLiterallyAndSkipsNonLocks()
    {
        var store = new RedisLockStore(RedisServer.SharedConnection);
        var db = RedisServer.SharedConnection.GetDatabase();
        await store.TryAcquireAsync(_prefix + "a*?[x]\\", "owner-1", Long, default);
        await store.TryAcquireAsync(_prefix + "ab", "owner-2", Long, default);
        await db.StreamAddAsync(_prefix + "a*?[x]\\stream", "f", "v");
        await db.StringSetAsync(_prefix + "a*?[x]\\plain", "not a lock");

        var listed = new List<LockInfo>();
        await foreach (var info in store.ListAsync(_prefix + "a*?[x]\\", default))
        {
            listed.Add(info);
        }

        Assert.Equal([_prefix + "a*?[x]\\"], listed.Select(l => l.Key));
    }

    [Fact]
    public void Constructor_KeyPrefixWithBrace_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RedisLockStore(RedisServer.SharedConnection, new RedisLockStoreOptions { KeyPrefix = "app{1}:" }));
    }
}
