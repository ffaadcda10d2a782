using Solo.Locks;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Conformance;

namespace Solo.Sqlite.Tests.Locks;

/// <summary>The lock store suite on a fake clock, plus what only the SQLite store promises.</summary>
public sealed class SqliteLockStoreFakeTimeTests : FakeClockLockStoreConformanceTests, IDisposable
{
    private readonly TempDatabase _file = new();

    protected override bool ListsInOrdinalKeyOrder => true;

    protected override ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider) =>
        ValueTask.FromResult<ILockStore>(new SqliteLockStore(_file.Options(), timeProvider));

    protected override async ValueTask<long?> CountStoredLocksAsync(ILockStore store) =>
        await ((SqliteLockStore)store).CountRowsAsync(default);

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

        await store.ReleaseAsync(Key("unrelated"), "owner", 1, default);

        Assert.Equal(1, await store.CountRowsAsync(default));
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
    public async Task TryAcquireAsync_TtlBeyondTheLastTime_ExpiresAtTheLastTime()
    {
        var store = await NewStoreAsync();

        var result = await store.TryAcquireAsync(Key("a"), "owner", TimeSpan.MaxValue, default);

        Assert.True(result.Acquired);
        Assert.Equal(DateTimeOffset.MaxValue, result.ExpiresAt);
    }

    public void Dispose() => _file.Dispose();
}
