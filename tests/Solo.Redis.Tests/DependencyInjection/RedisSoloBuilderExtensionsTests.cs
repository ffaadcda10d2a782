using Microsoft.Extensions.DependencyInjection;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;
using Solo.Redis.Connection;
using Solo.Redis.Tests.Support;

namespace Solo.Redis.Tests.DependencyInjection;

/// <summary>Choosing the Redis backends, together or one at a time.</summary>
public sealed class RedisSoloBuilderExtensionsTests
{
    [Fact]
    public async Task UseRedis_BrokerAndLockStore_ShareOneConnectionAndWork()
    {
        await using var provider = Build(solo => solo.UseRedis(RedisServer.Shared.Configuration, b => b.KeyPrefix = RedisKeys.NewPrefix("di")));

        var broker = Assert.IsType<RedisStreamsBroker>(provider.GetRequiredService<IBroker>());
        var locks = Assert.IsType<RedisLockStore>(provider.GetRequiredService<ILockStore>());

        Assert.Equal(1, provider.GetRequiredService<RedisConnectionPool>().Count);
        var key = RedisKeys.NewPrefix("di-lock") + "k";
        var acquired = await locks.TryAcquireAsync(key, "owner", TimeSpan.FromMinutes(1), default);
        Assert.True(acquired.Acquired);
        Assert.True(await locks.ReleaseAsync(key, "owner", acquired.FencingToken, default));
        await broker.PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default);
        await Assert.Single(await broker.ReceiveAsync("q", 1, TimeSpan.FromSeconds(5), default)).AckAsync(default);
    }

    [Fact]
    public async Task UseRedisLocks_AfterAnotherBroker_ReplacesOnlyTheLockStore()
    {
        await using var provider = Build(solo => solo.UseInMemory().UseRedisLocks(RedisServer.Shared.Configuration));

        Assert.IsType<InMemoryBroker>(provider.GetRequiredService<IBroker>());
        Assert.IsType<RedisLockStore>(provider.GetRequiredService<ILockStore>());
    }

    [Fact]
    public async Task UseRedisStreams_AfterAnotherLockStore_ReplacesOnlyTheBroker()
    {
        await using var provider = Build(solo => solo.UseInMemory().UseRedisStreams(RedisServer.Shared.Configuration));

        Assert.IsType<RedisStreamsBroker>(provider.GetRequiredService<IBroker>());
        Assert.IsType<InMemoryLockStore>(provider.GetRequiredService<ILockStore>());
    }

    [Fact]
    public void UseRedis_InvalidSetting_ThrowsAtRegistration()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentException>(() => services.AddSolo(solo => solo.UseRedis(RedisServer.Shared.Configuration, locks: l => l.KeyPrefix = "{x}")));
        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddSolo(solo => solo.UseRedisStreams(RedisServer.Shared.Configuration, b => b.PollInterval = TimeSpan.Zero)));
        Assert.Throws<ArgumentException>(() => services.AddSolo(solo => solo.UseRedisLocks(" ")));
    }

    [Fact]
    public void Options_Connection_ReconnectsByItselfAndFailsFastWhileDown()
    {
        var options = RedisConnectionPool.Options("127.0.0.1:1,abortConnect=true,connectTimeout=1234");

        Assert.False(options.AbortOnConnectFail);
        Assert.Same(StackExchange.Redis.BacklogPolicy.FailFast, options.BacklogPolicy);
        Assert.Equal(1234, options.ConnectTimeout);
    }

    private static ServiceProvider Build(Action<SoloBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSolo(configure);
        return services.BuildServiceProvider();
    }
}
