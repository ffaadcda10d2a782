using Solo.InMemory;
using Solo.Locks;
using Solo.Tests.Conformance;

namespace Solo.Tests.InMemory;

/// <summary>The lock store suite on a fake clock, plus what only the in-memory store promises.</summary>
public sealed class InMemoryLockStoreTests : LockStoreConformanceTests
{
    protected override bool SupportsFakeTime => true;

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new InMemoryLockStore(timeProvider));

    [Fact]
    public async Task TryAcquireAsync_FakeClock_ExpiresExactlyAfterTtl()
    {
        var store = new InMemoryLockStore(FakeTime);
        var ttl = TimeSpan.FromSeconds(10);

        var result = await store.TryAcquireAsync(Key("a"), "owner-1", ttl, default);
        Assert.Equal(FakeTime.GetUtcNow() + ttl, result.ExpiresAt);
        FakeTime.Advance(ttl - TimeSpan.FromTicks(1));
        Assert.NotNull(await store.GetAsync(Key("a"), default));
        FakeTime.Advance(TimeSpan.FromTicks(1));

        Assert.Null(await store.GetAsync(Key("a"), default));
    }

    [Fact]
    public async Task AnyOperation_AfterLocksExpired_DeletesThemAll()
    {
        var store = new InMemoryLockStore(FakeTime);
        for (var i = 0; i < 1_000; i++)
        {
            await store.TryAcquireAsync(Key($"k{i}"), $"owner-{i}", TimeSpan.FromSeconds(1 + (i % 7)), default);
        }

        FakeTime.Advance(TimeSpan.FromSeconds(8));
        await store.GetAsync(Key("unrelated"), default);

        Assert.Equal(0, store.StoredLocks);
        Assert.Equal(0, store.ExpiryEntries);
    }

    [Fact]
    public async Task ReleaseAsync_ByOwner_DeletesTheKey()
    {
        var store = new InMemoryLockStore(FakeTime);
        await store.TryAcquireAsync(Key("a"), "owner-1", TimeSpan.FromMinutes(1), default);

        await store.ReleaseAsync(Key("a"), "owner-1", default);

        Assert.Equal(0, store.StoredLocks);
    }

    [Fact]
    public async Task RenewAsync_ManyTimes_DoesNotPileUpExpiryEntries()
    {
        var store = new InMemoryLockStore(FakeTime);
        await store.TryAcquireAsync(Key("a"), "owner-1", TimeSpan.FromMinutes(1), default);

        for (var i = 0; i < 10_000; i++)
        {
            FakeTime.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(await store.RenewAsync(Key("a"), "owner-1", TimeSpan.FromMinutes(1), default));
        }

        Assert.InRange(store.ExpiryEntries, 1, 2 + 64 + 1);
    }

    [Fact]
    public async Task TryAcquireAsync_DifferentKeys_TokensComeFromOneGrowingCounter()
    {
        var store = new InMemoryLockStore(FakeTime);
        var tokens = new List<long>();

        for (var i = 0; i < 5; i++)
        {
            tokens.Add((await store.TryAcquireAsync(Key($"k{i % 2}"), $"owner-{i}", TimeSpan.FromMinutes(1), default)).FencingToken);
            await store.ReleaseAsync(Key($"k{i % 2}"), $"owner-{i}", default);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
    }

    [Fact]
    public async Task ListAsync_SeveralLocks_ComeInOrdinalKeyOrder()
    {
        var store = new InMemoryLockStore(FakeTime);
        foreach (var name in new[] { "b", "C", "a", "c" })
        {
            await store.TryAcquireAsync(Key(name), "owner", TimeSpan.FromMinutes(1), default);
        }

        var keys = (await ListAsync(store, Prefix)).Select(l => l.Key[Prefix.Length..]);

        Assert.Equal(["C", "a", "b", "c"], keys);
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_SameKeyTwice_Throws()
    {
        var store = new InMemoryLockStore(FakeTime);

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await store.TryAcquireAndReleaseAsync(Key("a"), Key("a"), "owner", TimeSpan.FromMinutes(1), default));
    }

    [Fact]
    public async Task Operations_InvalidArguments_Throw()
    {
        var store = new InMemoryLockStore(FakeTime);

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireAsync("", "owner", TimeSpan.FromMinutes(1), default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireAsync(Key("a"), "", TimeSpan.FromMinutes(1), default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryAcquireAsync(Key("a"), "owner", TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.RenewAsync(Key("a"), "owner", TimeSpan.FromSeconds(-1), default));
        Assert.Equal(0, store.StoredLocks);
    }
}
