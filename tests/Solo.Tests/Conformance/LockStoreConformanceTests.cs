using Microsoft.Extensions.Time.Testing;
using Solo.Locks;

namespace Solo.Tests.Conformance;

/// <summary>
/// What every <see cref="ILockStore"/> must do. A backend joins by subclassing and implementing
/// <see cref="CreateLockStoreAsync"/>; a backend whose clock can be faked also overrides
/// <see cref="SupportsFakeTime"/>, the others run on real time with short TTLs. Every test uses keys
/// under a prefix of its own, so subclasses may share one server.
/// </summary>
public abstract class LockStoreConformanceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset FakeStart = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly List<ILockStore> _stores = [];
    private FakeTimeProvider? _fake;

    /// <summary>
    /// Creates a lock store that reads time from <paramref name="timeProvider"/> (the system clock unless
    /// <see cref="SupportsFakeTime"/>). Disposed after the test when it is disposable.
    /// </summary>
    protected abstract ValueTask<ILockStore> CreateLockStoreAsync(TimeProvider timeProvider);

    /// <summary>True when the store takes all its time from the given provider, so a fake clock can drive it.</summary>
    protected virtual bool SupportsFakeTime => false;

    /// <summary>The TTL of tests that let a lock expire.</summary>
    protected virtual TimeSpan ShortTtl => TimeSpan.FromSeconds(2);

    /// <summary>The TTL of tests whose locks must hold throughout.</summary>
    protected virtual TimeSpan LongTtl => TimeSpan.FromMinutes(5);

    /// <summary>Time added after a lock's end before expecting the store to treat it as expired.</summary>
    protected virtual TimeSpan Margin => TimeSpan.FromMilliseconds(500);

    /// <summary>How far a time the store reports may be from the test's clock (stores on a server use their own).</summary>
    protected virtual TimeSpan ClockTolerance => SupportsFakeTime ? TimeSpan.Zero : TimeSpan.FromSeconds(1);

    /// <summary>
    /// True when <see cref="ILockStore.ListAsync"/> returns locks in ordinal order of their keys. Not a promise
    /// of <see cref="ILockStore"/>: a store may list them as it finds them (Redis lists in SCAN order).
    /// </summary>
    protected virtual bool ListsInOrdinalKeyOrder => false;

    protected TimeProvider Time { get; private set; } = TimeProvider.System;

    /// <summary>The fake clock, for tests of backends that <see cref="SupportsFakeTime"/>.</summary>
    protected FakeTimeProvider FakeTime => _fake ?? throw new InvalidOperationException("This backend runs on the real clock.");

    /// <summary>The prefix of this test's keys.</summary>
    protected string Prefix { get; } = $"conformance:{Guid.NewGuid():N}:";

    public Task InitializeAsync()
    {
        if (SupportsFakeTime)
        {
            _fake = new FakeTimeProvider(FakeStart);
            Time = _fake;
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            switch (store)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    [Fact]
    public async Task TryAcquireAsync_FreeKey_AcquiresWithTokenAndTtl()
    {
        var store = await NewStoreAsync();
        var key = Key("a");

        var before = Time.GetUtcNow();
        var result = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);
        var after = Time.GetUtcNow();

        Assert.True(result.Acquired);
        Assert.Equal("owner-1", result.Owner);
        Assert.True(result.FencingToken > 0);
        Assert.InRange(result.ExpiresAt, before + LongTtl - ClockTolerance, after + LongTtl + ClockTolerance);
        AssertLock(await store.GetAsync(key, default), key, "owner-1", result.FencingToken, result.ExpiresAt);
    }

    [Fact]
    public async Task TryAcquireAsync_HeldByAnother_FailsAndNamesHolderAndItsToken()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var held = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);

        var result = await store.TryAcquireAsync(key, "owner-2", LongTtl, default);

        Assert.False(result.Acquired);
        Assert.Equal("owner-1", result.Owner);
        Assert.Equal(held.FencingToken, result.FencingToken);
        AssertClose(held.ExpiresAt, result.ExpiresAt);
        Assert.Equal("owner-1", (await store.GetAsync(key, default))?.Owner);
    }

    [Fact]
    public async Task TryAcquireAsync_HeldBySameOwner_AcquiresAgainWithBiggerTokenAndNewTtl()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var first = await store.TryAcquireAsync(key, "owner-1", ShortTtl, default);
        await PassTimeAsync(ShortTtl / 4);

        var second = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);

        Assert.True(second.Acquired);
        Assert.Equal("owner-1", second.Owner);
        Assert.True(second.FencingToken > first.FencingToken, $"token {second.FencingToken} after {first.FencingToken}");
        Assert.True(second.ExpiresAt > first.ExpiresAt);
        await PassTimeAsync(ShortTtl + Margin);
        Assert.Equal(second.FencingToken, (await store.GetAsync(key, default))?.FencingToken);
    }

    [Fact]
    public async Task TryAcquireAsync_AfterReleaseAndReacquireByOthers_TokensKeepGrowing()
    {
        var store = await NewStoreAsync();
        var key = Key("a");

        var first = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);
        Assert.True(await store.ReleaseAsync(key, "owner-1", first.FencingToken, default));
        var second = await store.TryAcquireAsync(key, "owner-2", LongTtl, default);
        Assert.True(await store.ReleaseAsync(key, "owner-2", second.FencingToken, default));
        var third = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);

        Assert.True(first.Acquired && second.Acquired && third.Acquired);
        Assert.True(first.FencingToken < second.FencingToken, $"{first.FencingToken} then {second.FencingToken}");
        Assert.True(second.FencingToken < third.FencingToken, $"{second.FencingToken} then {third.FencingToken}");
    }

    [Fact]
    public async Task TryAcquireAsync_AfterExpiry_AcquiresForAnotherOwnerWithBiggerToken()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var first = await store.TryAcquireAsync(key, "owner-1", ShortTtl, default);

        await PassTimeAsync(ShortTtl + Margin);
        var second = await store.TryAcquireAsync(key, "owner-2", LongTtl, default);

        Assert.True(second.Acquired);
        Assert.Equal("owner-2", second.Owner);
        Assert.True(second.FencingToken > first.FencingToken);
    }

    [Fact]
    public async Task GetAsync_AfterTtl_ReturnsNull()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        await store.TryAcquireAsync(key, "owner-1", ShortTtl, default);

        await PassTimeAsync(ShortTtl / 4);
        Assert.NotNull(await store.GetAsync(key, default));
        await PassTimeAsync(ShortTtl + Margin);

        Assert.Null(await store.GetAsync(key, default));
    }

    [Fact]
    public async Task RenewAsync_ByOwner_ExtendsTheLock()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var acquired = await store.TryAcquireAsync(key, "owner-1", ShortTtl, default);
        await PassTimeAsync(ShortTtl * 0.6);

        var before = Time.GetUtcNow();
        Assert.True(await store.RenewAsync(key, "owner-1", acquired.FencingToken, ShortTtl, default));
        await PassTimeAsync(ShortTtl * 0.6);

        // Past the first TTL, within the renewed one.
        var info = await store.GetAsync(key, default);
        Assert.NotNull(info);
        Assert.Equal("owner-1", info.Owner);
        Assert.Equal(acquired.FencingToken, info.FencingToken);
        Assert.True(info.ExpiresAt >= before + ShortTtl - ClockTolerance, $"expires at {info.ExpiresAt}, renewed at {before}");
        Assert.False((await store.TryAcquireAsync(key, "owner-2", LongTtl, default)).Acquired);
    }

    [Fact]
    public async Task RenewAsync_ByAnotherOwner_FailsAndLeavesTheLock()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var acquired = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);

        Assert.False(await store.RenewAsync(key, "owner-2", acquired.FencingToken, LongTtl * 2, default));

        AssertLock(await store.GetAsync(key, default), key, "owner-1", acquired.FencingToken, acquired.ExpiresAt);
    }

    [Fact]
    public async Task RenewAsync_AfterExpiry_FailsAndDoesNotRevive()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var acquired = await store.TryAcquireAsync(key, "owner-1", ShortTtl, default);
        await PassTimeAsync(ShortTtl + Margin);

        Assert.False(await store.RenewAsync(key, "owner-1", acquired.FencingToken, LongTtl, default));

        Assert.Null(await store.GetAsync(key, default));
        Assert.False(await store.RenewAsync(Key("never-taken"), "owner-1", acquired.FencingToken, LongTtl, default));
    }

    [Fact]
    public async Task ReleaseAsync_ByOwner_FreesTheKey()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var acquired = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);

        Assert.True(await store.ReleaseAsync(key, "owner-1", acquired.FencingToken, default));

        Assert.Null(await store.GetAsync(key, default));
        await AssertNothingStoredAsync(store);
        Assert.True((await store.TryAcquireAsync(key, "owner-2", LongTtl, default)).Acquired);
        Assert.False(await store.ReleaseAsync(Key("never-taken"), "owner-1", acquired.FencingToken, default));
    }

    [Fact]
    public async Task ReleaseAsync_ByAnotherOwner_FailsAndLeavesTheLock()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var acquired = await store.TryAcquireAsync(key, "owner-1", LongTtl, default);

        Assert.False(await store.ReleaseAsync(key, "owner-2", acquired.FencingToken, default));

        AssertLock(await store.GetAsync(key, default), key, "owner-1", acquired.FencingToken, acquired.ExpiresAt);
        Assert.False((await store.TryAcquireAsync(key, "owner-2", LongTtl, default)).Acquired);
    }

    [Fact]
    public async Task ReleaseAsync_ByOwnerWhoseLockExpiredAndWasRetaken_LeavesTheNewLock()
    {
        // The blind-release hole: a slow task must not delete the lock of the task that took over.
        var store = await NewStoreAsync();
        var key = Key("a");
        var slow = await store.TryAcquireAsync(key, "slow-task", ShortTtl, default);
        await PassTimeAsync(ShortTtl + Margin);
        var newer = await store.TryAcquireAsync(key, "new-task", LongTtl, default);
        Assert.True(newer.Acquired);

        Assert.False(await store.ReleaseAsync(key, "slow-task", slow.FencingToken, default));

        AssertLock(await store.GetAsync(key, default), key, "new-task", newer.FencingToken, newer.ExpiresAt);
    }

    [Fact]
    public async Task RenewAsync_SameOwnerStaleToken_FailsAndLeavesTheNewerAcquisition()
    {
        // A stale copy of a task (same owner, the token of an earlier acquisition) cannot extend the lock
        // that its redelivery took again.
        var store = await NewStoreAsync();
        var key = Key("a");
        var stale = await store.TryAcquireAsync(key, "task-1", LongTtl, default);
        var live = await store.TryAcquireAsync(key, "task-1", LongTtl, default);

        Assert.False(await store.RenewAsync(key, "task-1", stale.FencingToken, LongTtl * 2, default));

        AssertLock(await store.GetAsync(key, default), key, "task-1", live.FencingToken, live.ExpiresAt);
        Assert.True(await store.RenewAsync(key, "task-1", live.FencingToken, LongTtl, default));
    }

    [Fact]
    public async Task ReleaseAsync_SameOwnerStaleToken_FailsAndLeavesTheNewerAcquisition()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var stale = await store.TryAcquireAsync(key, "task-1", LongTtl, default);
        var live = await store.TryAcquireAsync(key, "task-1", LongTtl, default);

        Assert.False(await store.ReleaseAsync(key, "task-1", stale.FencingToken, default));
        Assert.False(await store.ReleaseAsync(key, "task-1", 0, default));

        AssertLock(await store.GetAsync(key, default), key, "task-1", live.FencingToken, live.ExpiresAt);
        Assert.True(await store.ReleaseAsync(key, "task-1", live.FencingToken, default));
        Assert.Null(await store.GetAsync(key, default));
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_StaleReleaseToken_AcquiresButKeepsTheReleaseKey()
    {
        // A start that carries the token of a queue slot its task has since taken again (a reschedule of
        // another copy) takes the run slot but must not free the queue slot it no longer proves it holds.
        var store = await NewStoreAsync();
        var stale = await store.TryAcquireAsync(Key("q"), "task-1", LongTtl, default);
        var live = await store.TryAcquireAsync(Key("q"), "task-1", LongTtl, default);

        var result = await store.TryAcquireAndReleaseAsync(Key("r"), Key("q"), "task-1", stale.FencingToken, LongTtl, default);

        Assert.True(result.Acquired);
        AssertLock(await store.GetAsync(Key("q"), default), Key("q"), "task-1", live.FencingToken, live.ExpiresAt);
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_AnyReleaseToken_ReleasesTheOwnersSlotWhateverItsToken()
    {
        // A start consumes the pending slot of its task id even when an earlier copy of the task re-took it
        // (new token) and died before the message learnt that token; never a slot of another owner.
        var store = await NewStoreAsync();
        await store.TryAcquireAsync(Key("q"), "task-1", LongTtl, default);
        await store.TryAcquireAsync(Key("q"), "task-1", LongTtl, default);
        var other = await store.TryAcquireAsync(Key("q2"), "task-2", LongTtl, default);

        var result = await store.TryAcquireAndReleaseAsync(Key("r"), Key("q"), "task-1", null, LongTtl, default);
        var notMine = await store.TryAcquireAndReleaseAsync(Key("r2"), Key("q2"), "task-1", null, LongTtl, default);

        Assert.True(result.Acquired && notMine.Acquired);
        Assert.Null(await store.GetAsync(Key("q"), default));
        AssertLock(await store.GetAsync(Key("q2"), default), Key("q2"), "task-2", other.FencingToken, other.ExpiresAt);
    }

    [Fact]
    public async Task TryAcquireManyAsync_MixedKeys_ReturnsEachResultInRequestOrder()
    {
        var store = await NewStoreAsync();
        var held = await store.TryAcquireAsync(Key("b"), "holder", LongTtl, default);
        var mine = await store.TryAcquireAsync(Key("d"), "owner-1", LongTtl, default);

        var results = await store.TryAcquireManyAsync(
        [
            new LockRequest(Key("a"), "owner-1", LongTtl),
            new LockRequest(Key("b"), "owner-1", LongTtl),
            new LockRequest(Key("c"), "owner-2", LongTtl),
            new LockRequest(Key("d"), "owner-1", LongTtl),
        ], default);

        Assert.Equal(4, results.Count);
        Assert.True(results[0].Acquired);
        Assert.Equal("owner-1", results[0].Owner);
        Assert.False(results[1].Acquired);
        Assert.Equal("holder", results[1].Owner);
        Assert.Equal(held.FencingToken, results[1].FencingToken);
        Assert.True(results[2].Acquired);
        Assert.Equal("owner-2", results[2].Owner);
        Assert.True(results[3].Acquired);
        Assert.True(results[3].FencingToken > mine.FencingToken);
        Assert.Equal(3, new[] { results[0].FencingToken, results[2].FencingToken, results[3].FencingToken }.Distinct().Count());
        Assert.Equal("owner-1", (await store.GetAsync(Key("a"), default))?.Owner);
        Assert.Equal("holder", (await store.GetAsync(Key("b"), default))?.Owner);
        Assert.Equal("owner-2", (await store.GetAsync(Key("c"), default))?.Owner);
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_AcquireSucceeds_ReleasesOwnKey()
    {
        var store = await NewStoreAsync();
        var queueSlot = await store.TryAcquireAsync(Key("q"), "task-1", LongTtl, default);

        var result = await store.TryAcquireAndReleaseAsync(Key("r"), Key("q"), "task-1", queueSlot.FencingToken, LongTtl, default);

        Assert.True(result.Acquired);
        Assert.Equal("task-1", result.Owner);
        Assert.True(result.FencingToken > queueSlot.FencingToken);
        Assert.Equal("task-1", (await store.GetAsync(Key("r"), default))?.Owner);
        Assert.Null(await store.GetAsync(Key("q"), default));
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_AcquireFails_KeepsTheReleaseKey()
    {
        var store = await NewStoreAsync();
        var running = await store.TryAcquireAsync(Key("r"), "task-0", LongTtl, default);
        var queueSlot = await store.TryAcquireAsync(Key("q"), "task-1", LongTtl, default);

        var result = await store.TryAcquireAndReleaseAsync(Key("r"), Key("q"), "task-1", queueSlot.FencingToken, LongTtl, default);

        Assert.False(result.Acquired);
        Assert.Equal("task-0", result.Owner);
        Assert.Equal(running.FencingToken, result.FencingToken);
        AssertLock(await store.GetAsync(Key("q"), default), Key("q"), "task-1", queueSlot.FencingToken, queueSlot.ExpiresAt);
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_ReleaseKeyHeldByAnother_LeavesIt()
    {
        var store = await NewStoreAsync();
        var other = await store.TryAcquireAsync(Key("q"), "task-2", LongTtl, default);

        var result = await store.TryAcquireAndReleaseAsync(Key("r"), Key("q"), "task-1", other.FencingToken, LongTtl, default);

        Assert.True(result.Acquired);
        AssertLock(await store.GetAsync(Key("q"), default), Key("q"), "task-2", other.FencingToken, other.ExpiresAt);
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_ReleaseKeyFree_StillAcquires()
    {
        var store = await NewStoreAsync();

        var result = await store.TryAcquireAndReleaseAsync(Key("r"), Key("q"), "task-1", 1, LongTtl, default);

        Assert.True(result.Acquired);
        Assert.Null(await store.GetAsync(Key("q"), default));
    }

    [Fact]
    public async Task ReplaceOwnerAsync_ExpectedOwnerHolds_HandsOverWithNewTokenAndTtl()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var old = await store.TryAcquireAsync(key, "task-1", ShortTtl, default);

        var before = Time.GetUtcNow();
        var result = await store.ReplaceOwnerAsync(key, "task-1", "task-2", LongTtl, default);

        Assert.True(result.Acquired);
        Assert.Equal("task-2", result.Owner);
        Assert.True(result.FencingToken > old.FencingToken);
        Assert.True(result.ExpiresAt >= before + LongTtl - ClockTolerance);
        AssertLock(await store.GetAsync(key, default), key, "task-2", result.FencingToken, result.ExpiresAt);
        Assert.False(await store.ReleaseAsync(key, "task-1", old.FencingToken, default));
    }

    [Fact]
    public async Task ReplaceOwnerAsync_WrongExpectedOwner_ChangesNothingAndNamesHolder()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        var held = await store.TryAcquireAsync(key, "task-1", LongTtl, default);

        var result = await store.ReplaceOwnerAsync(key, "task-9", "task-2", LongTtl, default);

        Assert.False(result.Acquired);
        Assert.Equal("task-1", result.Owner);
        Assert.Equal(held.FencingToken, result.FencingToken);
        AssertLock(await store.GetAsync(key, default), key, "task-1", held.FencingToken, held.ExpiresAt);
    }

    [Fact]
    public async Task ReplaceOwnerAsync_ExpectedOwnersLockExpired_DoesNotHandOver()
    {
        var store = await NewStoreAsync();
        var key = Key("a");
        await store.TryAcquireAsync(key, "task-1", ShortTtl, default);
        await PassTimeAsync(ShortTtl + Margin);

        var result = await store.ReplaceOwnerAsync(key, "task-1", "task-2", LongTtl, default);

        Assert.False(result.Acquired);
        Assert.Null(result.Owner);
        Assert.Null(await store.GetAsync(key, default));
    }

    [Fact]
    public async Task ListAsync_Prefix_ReturnsOnlyLiveLocksUnderIt()
    {
        var store = await NewStoreAsync();
        var otherPrefix = $"conformance:{Guid.NewGuid():N}:";
        var a = await store.TryAcquireAsync(Key("x:a"), "owner-1", LongTtl, default);
        var b = await store.TryAcquireAsync(Key("x:b"), "owner-2", LongTtl, default);
        await store.TryAcquireAsync(Key("x:expiring"), "owner-3", ShortTtl, default);
        await store.TryAcquireAsync(Key("y:a"), "owner-4", LongTtl, default);
        await store.TryAcquireAsync(otherPrefix + "x:a", "owner-5", LongTtl, default);
        await PassTimeAsync(ShortTtl + Margin);

        var listed = await ListAsync(store, Key("x:"));

        Assert.Collection(
            listed.OrderBy(l => l.Key, StringComparer.Ordinal),
            l => AssertLock(l, Key("x:a"), "owner-1", a.FencingToken, a.ExpiresAt),
            l => AssertLock(l, Key("x:b"), "owner-2", b.FencingToken, b.ExpiresAt));
        Assert.Null(await store.GetAsync(Key("x:expiring"), default));
        Assert.Equal([Key("x:a"), Key("x:b"), Key("y:a")], (await ListAsync(store, Prefix)).Select(l => l.Key).Order(StringComparer.Ordinal));
        var everything = await ListAsync(store, "");
        Assert.Contains(everything, l => l.Key == Key("y:a"));
        Assert.Contains(everything, l => l.Key == otherPrefix + "x:a");
        Assert.DoesNotContain(everything, l => l.Key == Key("x:expiring"));
    }

    [Fact]
    public async Task ListAsync_SeveralLocks_ListsEachOnce()
    {
        var store = await NewStoreAsync();
        string[] names = ["b", "C", "a", "c", "\uFF21", "\U0001F600"];
        foreach (var name in names)
        {
            await store.TryAcquireAsync(Key(name), "owner", LongTtl, default);
        }

        var keys = (await ListAsync(store, Prefix)).Select(l => l.Key[Prefix.Length..]).ToList();

        Assert.Equal(names.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        if (ListsInOrdinalKeyOrder)
        {
            Assert.Equal(["C", "a", "b", "c", "\U0001F600", "\uFF21"], keys);
        }
    }

    [Fact]
    public async Task TryAcquireAndReleaseAsync_SameKeyTwice_Throws()
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await store.TryAcquireAndReleaseAsync(Key("a"), Key("a"), "owner", 1, LongTtl, default));

        await AssertNothingStoredAsync(store);
    }

    [Fact]
    public async Task Operations_InvalidArguments_ThrowAndStoreNothing()
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireAsync("", "owner", LongTtl, default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAcquireAsync(Key("a"), "", LongTtl, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryAcquireAsync(Key("a"), "owner", TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.RenewAsync(Key("a"), "owner", 1, TimeSpan.FromSeconds(-1), default));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await store.TryAcquireManyAsync([new LockRequest(Key("a"), "owner", LongTtl), new LockRequest("", "owner", LongTtl)], default));

        await AssertNothingStoredAsync(store);
    }

    [Fact]
    public async Task TryAcquireAsync_ConcurrentOwnersRacing_NeverTwoHoldersAtOnce()
    {
        const int workers = 16;
        const int attempts = 200;
        const int keyCount = 10;
        var store = await NewStoreAsync();
        var holders = new int[keyCount];
        var lastToken = new long[keyCount];
        var violations = 0;
        var acquisitions = 0;
        var failedReleases = 0;

        async Task RaceAsync(int worker)
        {
            var random = new Random(worker);
            for (var attempt = 0; attempt < attempts; attempt++)
            {
                var k = random.Next(keyCount);
                var owner = $"w{worker}-a{attempt}";
                var result = await store.TryAcquireAsync(Key($"k{k}"), owner, LongTtl, default);
                if (!result.Acquired)
                {
                    continue;
                }

                Interlocked.Increment(ref acquisitions);
                if (Interlocked.Increment(ref holders[k]) != 1)
                {
                    Interlocked.Increment(ref violations);
                }

                // Holders of one key follow each other, so while holding, the last token is ours to check.
                if (result.FencingToken <= Volatile.Read(ref lastToken[k]))
                {
                    Interlocked.Increment(ref violations);
                }

                Volatile.Write(ref lastToken[k], result.FencingToken);
                await Task.Yield();
                Interlocked.Decrement(ref holders[k]);
                if (!await store.ReleaseAsync(Key($"k{k}"), owner, result.FencingToken, default))
                {
                    Interlocked.Increment(ref failedReleases);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => RaceAsync(w)))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(0, violations);
        Assert.Equal(0, failedReleases);
        Assert.True(acquisitions >= keyCount, $"only {acquisitions} acquisitions: the race did not race");
        Assert.Empty(await ListAsync(store, Prefix));
    }

    protected string Key(string name) => Prefix + name;

    protected async Task<ILockStore> NewStoreAsync()
    {
        var store = await CreateLockStoreAsync(Time);
        _stores.Add(store);
        return store;
    }

    /// <summary>Lets <paramref name="span"/> pass: advances the fake clock, or waits it out.</summary>
    protected async Task PassTimeAsync(TimeSpan span)
    {
        if (_fake is not null)
        {
            _fake.Advance(span);
        }
        else
        {
            await Task.Delay(span);
        }
    }

    /// <summary>
    /// How many locks the store keeps, live or expired, for backends whose storage a test can see;
    /// null where it cannot (then only live locks are checked).
    /// </summary>
    protected virtual ValueTask<long?> CountStoredLocksAsync(ILockStore store) => ValueTask.FromResult<long?>(null);

    /// <summary>No lock under this test's prefix is live and, where the store can be looked into, none is stored at all.</summary>
    protected async Task AssertNothingStoredAsync(ILockStore store)
    {
        Assert.Empty(await ListAsync(store, Prefix));
        if (await CountStoredLocksAsync(store) is { } stored)
        {
            Assert.Equal(0, stored);
        }
    }

    protected static async Task<List<LockInfo>> ListAsync(ILockStore store, string prefix)
    {
        var list = new List<LockInfo>();
        await foreach (var info in store.ListAsync(prefix, default))
        {
            list.Add(info);
        }

        return list;
    }

    private void AssertLock(LockInfo? actual, string key, string owner, long fencingToken, DateTimeOffset expiresAt)
    {
        Assert.NotNull(actual);
        Assert.Equal(key, actual.Key);
        Assert.Equal(owner, actual.Owner);
        Assert.Equal(fencingToken, actual.FencingToken);
        AssertClose(expiresAt, actual.ExpiresAt);
    }

    private void AssertClose(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.InRange(actual, expected - ClockTolerance, expected + ClockTolerance);
}
