namespace Solo.Tests.Conformance;

/// <summary>
/// The lock store suite for backends that take all their time from the given <see cref="TimeProvider"/>,
/// plus what only a fake clock can show: TTLs that hold to the tick.
/// </summary>
public abstract class FakeClockLockStoreConformanceTests : LockStoreConformanceTests
{
    protected sealed override bool SupportsFakeTime => true;

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
}
