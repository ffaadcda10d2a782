using Solo.Locks;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Sqlite.Tests.Locks;

/// <summary>The lock store suite on a fake clock, plus what only the SQLite store promises.</summary>
public sealed class SqliteLockStoreFakeTimeTests : LockStoreConformanceTests, IDisposable
{
    private readonly TempDatabase _file = new();

    protected override bool SupportsFakeTime => true;

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new SqliteLockStore(_file.Options(), timeProvider));

    [Fact]
    public async Task TryAcquireAsync_FakeClock_ExpiresExactlyAfterTtl()
    {
        var store = await NewStoreAsync();
        var ttl = TimeSpan.FromSeconds(10);

        var result = await store.TryAcquireAsync(Key("a"), "owner-1", ttl, default);
        Assert.Equal(FakeTime.GetUtcNow() + ttl, result.ExpiresAt);
        FakeTime.Advance(ttl - TimeSpan.FromTicks(1));
        Assert.NotNull(await store.GetAsync(Key("a"), default));
        FakeTime.Advance(TimeSpan.FromTicks(1));

        Assert.Null(await store.GetAsync(Key("a"), default));
    }

    [Fact]
    public async Task Write_AfterSweepInterval_DeletesExpiredRowsOfEveryKey()
    {
        var store = (SqliteLockStore)await NewStoreAsync();
        for (var i = 0; i < 100; i++)
        {
            await store.TryAcquireAsync(Key($"k{i}"), $"owner-{i}", TimeSpan.FromSeconds(1 + (i % 7)), default);
        }

        await store.TryAcquireAsync(Key("live"), "owner", TimeSpan.FromHours(1), default);
        FakeTime.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(101, await store.CountRowsAsync(default));

        await store.ReleaseAsync(Key("unrelated"), "owner", default);

        Assert.Equal(1, await store.CountRowsAsync(default));
    }

    [Fact]
    public async Task ReleaseAsync_ByOwner_DeletesTheRow()
    {
        var store = (SqliteLockStore)await NewStoreAsync();
        await store.TryAcquireAsync(Key("a"), "owner-1", TimeSpan.FromMinutes(1), default);

        await store.ReleaseAsync(Key("a"), "owner-1", default);

        Assert.Equal(0, await store.CountRowsAsync(default));
    }

    [Fact]
    public async Task ListAsync_SeveralLocks_ComeInOrdinalKeyOrder()
    {
        var store = await NewStoreAsync();
        foreach (var name in new[] { "b", "C", "a", "c", "\uFF21", "\U0001F600" })
        {
            await store.TryAcquireAsync(Key(name), "owner", TimeSpan.FromMinutes(1), default);
        }

        var keys = (await ListAsync(store, Prefix)).Select(l => l.Key[Prefix.Length..]);

        Assert.Equal(["C", "a", "b", "c", "\U0001F600", "\uFF21"], keys);
    }

    [Fact]
    public async Task ListAsync_PrefixWithLikeAndGlobCharacters_MatchesThemLiterally()
    {
        var store = await NewStoreAsync();
        await store.TryAcquireAsync(Key("a%_*?[x"), "owner-1", TimeSpan.FromMinutes(1), default);
        await store.TryAcquireAsync(Key("abc"), "owner-2", TimeSpan.FromMinutes(1), default);

        var listed = await ListAsync(store, Key("a%_*?["));

        Assert.Equal([Key("a%_*?[x")], listed.Select(l => l.Key));
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_SameKeyTwice_Throws()
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await store.TryAcquireAndReleaseAsync(Key("a"), Key("a"), "owner", TimeSpan.FromMinutes(1), default));
    }

    [Fact]
    public async Task Operations_InvalidArguments_ThrowAndStoreNothing()
    {
        var store = (SqliteLockStore)await NewStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireAsync("", "owner", TimeSpan.FromMinutes(1), default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireAsync(Key("a"), "", TimeSpan.FromMinutes(1), default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryAcquireAsync(Key("a"), "owner", TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.RenewAsync(Key("a"), "owner", TimeSpan.FromSeconds(-1), default));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await store.TryAcquireManyAsync([new LockRequest(Key("a"), "owner", TimeSpan.FromMinutes(1)), new LockRequest("", "owner", TimeSpan.FromMinutes(1))], default));
        Assert.Equal(0, await store.CountRowsAsync(default));
    }

    [Fact]
    public async Task TryAcquireAsync_TtlBeyondTheLastTime_ExpiresAtTheLastTime()
    {
        var store = await NewStoreAsync();

        var result = await store.TryAcquireAsync(Key("a"), "owner", TimeSpan.MaxValue, default);

        Assert.True(result.Acquired);
        Assert.Equal(DateTimeOffset.MaxValue, result.ExpiresAt);
    }

    public void Dispose() => _file.Dispose();
}
