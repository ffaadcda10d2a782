namespace Solo.Redis.Tests.Support;

/// <summary>The slot helper that other tests trust, checked against slots Redis documents.</summary>
public sealed class ClusterSlotTests
{
    [Theory]
    [InlineData("foo", 12182)]
    [InlineData("somekey", 11058)]
    [InlineData("123456789", 0x31C3 % 16384)]
    public void Of_KnownKeys_MatchesRedis(string key, int slot) => Assert.Equal(slot, ClusterSlot.Of(key));

    [Fact]
    public void Of_HashTag_HashesOnlyTheTag()
    {
        Assert.Equal(ClusterSlot.Of("{user1000}.following"), ClusterSlot.Of("{user1000}.followers"));
        Assert.Equal(ClusterSlot.Of("foo"), ClusterSlot.Of("x{foo}y"));
        Assert.Equal(ClusterSlot.Of("foo{}{bar}"), ClusterSlot.Of("foo{}{bar}"));
        Assert.NotEqual(ClusterSlot.Of("{}a"), ClusterSlot.Of("{}b"));
    }
}
