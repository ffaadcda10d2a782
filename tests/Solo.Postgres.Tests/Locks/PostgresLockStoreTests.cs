using Solo.Locks;
using Solo.Postgres.Tests.Support;

namespace Solo.Postgres.Tests.Locks;

/// <summary>What the PostgreSQL lock store promises beyond the conformance suite: bounded rows, no deadlocks, shared tokens.</summary>
public sealed class PostgresLockStoreTests(FreshDatabase database) : IClassFixture<FreshDatabase>, IAsyncLifetime
{
    // A prefix of the test's own, so that row counts see no other test's locks.
    private readonly PostgresOptions _options = new() { TablePrefix = $"t{Guid.NewGuid():N}_" };
    private readonly List<PostgresLockStore> _stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task TryAcquireAsync_ExpiredLocksOfOtherKeys_AreSweptByTheNextWrite()
    {
        var first = NewStore();
        for (var i = 0; i < 5; i++)
        {
            await first.TryAcquireAsync($"expiring-{i}", "owner", TimeSpan.FromMilliseconds(200), default);
        }

        await Task.Delay(500);
        // A store that has not swept yet, as a process starting later.
        var second = NewStore();
        Assert.True((await second.TryAcquireAsync("live", "owner", TimeSpan.FromMinutes(5), default)).Acquired);

        Assert.Equal(1, await second.CountRowsAsync(default));
    }

    [Fact]
    public async Task TryAcquireAsync_ExpiredLockOfTheSameKey_IsOverwrittenInPlace()
    {
        var store = NewStore();
        await store.SweepAsync(default);
        var first = await store.TryAcquireAsync("k", "owner-1", TimeSpan.FromMilliseconds(200), default);
        await Task.Delay(400);

        var second = await store.TryAcquireAsync("k", "owner-2", TimeSpan.FromMinutes(5), default);

        Assert.True(second.Acquired);
        Assert.True(second.FencingToken > first.FencingToken);
        Assert.Equal(1, await store.CountRowsAsync(default));
    }

    [Fact]
    public async Task TryAcquireManyAsync_ConcurrentCallsWithOppositeKeyOrders_NeverDeadlock()
    {
        var stores = new[] { NewStore(), NewStore() };
        string[] keys = ["a", "b", "c", "d"];

        async Task RaceAsync(int worker)
        {
            var store = stores[worker % 2];
            var order = worker % 2 == 0 ? keys : [.. keys.Reverse()];
            for (var attempt = 0; attempt < 50; attempt++)
            {
                var owner = $"w{worker}-{attempt}";
                var results = await store.TryAcquireManyAsync(order.Select(k => new LockRequest(k, owner, TimeSpan.FromMinutes(1))).ToArray(), default);
                for (var i = 0; i < order.Length; i++)
                {
                    if (results[i].Acquired)
                    {
                        await store.ReleaseAsync(order[i], owner, results[i].FencingToken, default);
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() => RaceAsync(w)))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(0, await stores[0].CountRowsAsync(default));
    }

    [Fact]
    public async Task TryAcquireManyAsync_SameKeyTwice_SecondRequestMeetsTheFirst()
    {
        var store = NewStore();

        var results = await store.TryAcquireManyAsync(
            [
                new LockRequest("k", "owner-1", TimeSpan.FromMinutes(1)),
                new LockRequest("other", "owner-3", TimeSpan.FromMinutes(1)),
                new LockRequest("k", "owner-2", TimeSpan.FromMinutes(1)),
            ],
            default);

        Assert.True(results[0].Acquired);
        Assert.True(results[1].Acquired);
        Assert.False(results[2].Acquired);
        Assert.Equal("owner-1", results[2].Owner);
        Assert.Equal(results[0].FencingToken, results[2].FencingToken);
    }

    [Fact]
    public async Task TryAcquireAsync_TwoStoresOnSeparateDataSources_ShareOneTokenSequence()
    {
        var first = NewStore();
        var second = NewStore();

        var a = await first.TryAcquireAsync("k", "owner-1", TimeSpan.FromMinutes(1), default);
        Assert.True(await first.ReleaseAsync("k", "owner-1", a.FencingToken, default));
        var b = await second.TryAcquireAsync("k", "owner-2", TimeSpan.FromMinutes(1), default);

        Assert.True(b.Acquired);
        Assert.True(b.FencingToken > a.FencingToken);
        Assert.Equal("owner-2", (await first.GetAsync("k", default))?.Owner);
    }

    private PostgresLockStore NewStore()
    {
        var store = new PostgresLockStore(database.ConnectionString, _options);
        _stores.Add(store);
        return store;
    }
}
