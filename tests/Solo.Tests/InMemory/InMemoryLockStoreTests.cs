using Solo.InMemory;
using Solo.Locks;
using Solo.Tests.Conformance;

namespace Solo.Tests.InMemory;

/// <summary>The lock store suite on a fake clock, plus what only the in-memory store promises.</summary>
public sealed class InMemoryLockStoreTests : FakeClockLockStoreConformanceTests
{
    protected override bool ListsInOrdinalKeyOrder => true;

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new InMemoryLockStore(timeProvider));

    protected override ValueTask<long?> CountStoredLocksAsync(ILockStore store) =>
        ValueTask.FromResult<long?>(((InMemoryLockStore)store).StoredLocks);

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
    public async Task RenewAsync_ManyTimes_DoesNotPileUpExpiryEntries()
    {
        var store = new InMemoryLockStore(FakeTime);
        var acquired = await store.TryAcquireAsync(Key("a"), "owner-1", TimeSpan.FromMinutes(1), default);

        for (var i = 0; i < 10_000; i++)
        {
            FakeTime.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(await store.RenewAsync(Key("a"), "owner-1", acquired.FencingToken, TimeSpan.FromMinutes(1), default));
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
            await store.ReleaseAsync(Key($"k{i % 2}"), $"owner-{i}", tokens[^1], default);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
    }
}
