using Microsoft.Extensions.DependencyInjection;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;
using Solo.Postgres.DependencyInjection;
using Solo.Postgres.Tests.Support;

namespace Solo.Postgres.Tests.DependencyInjection;

/// <summary>Choosing the PostgreSQL backends, together or one at a time.</summary>
public sealed class PostgresSoloBuilderExtensionsTests(FreshDatabase database) : IClassFixture<FreshDatabase>
{
    [Fact]
    public async Task UsePostgres_BrokerAndLockStore_ShareOneConnectionPoolAndWork()
    {
        await using var provider = Build(solo => solo.UsePostgres(database.ConnectionString, o => o.DeliveryLease = TimeSpan.FromSeconds(7)));

        var broker = Assert.IsType<PostgresBroker>(provider.GetRequiredService<IBroker>());
        var locks = Assert.IsType<PostgresLockStore>(provider.GetRequiredService<ILockStore>());

        Assert.Equal(1, provider.GetRequiredService<PostgresDatabasePool>().Count);
        Assert.Equal(TimeSpan.FromSeconds(7), broker.DeliveryLease);
        var acquired = await locks.TryAcquireAsync("di-k", "owner", TimeSpan.FromMinutes(1), default);
        Assert.True(acquired.Acquired);
        Assert.True(await locks.ReleaseAsync("di-k", "owner", acquired.FencingToken, default));
        await broker.PublishAsync([new OutgoingMessage("m1", "di-q", new byte[] { 1 })], default);
        await Assert.Single(await broker.ReceiveAsync("di-q", 1, TimeSpan.FromSeconds(5), default)).AckAsync(default);
    }

    [Fact]
    public async Task UsePostgresLocks_AfterAnotherBroker_ReplacesOnlyTheLockStore()
    {
        await using var provider = Build(solo => solo.UseInMemory().UsePostgresLocks(database.ConnectionString));

        Assert.IsType<InMemoryBroker>(provider.GetRequiredService<IBroker>());
        Assert.IsType<PostgresLockStore>(provider.GetRequiredService<ILockStore>());
    }

    [Fact]
    public async Task UsePostgresBroker_AfterAnotherLockStore_ReplacesOnlyTheBroker()
    {
        await using var provider = Build(solo => solo.UseInMemory().UsePostgresBroker(database.ConnectionString));

        Assert.IsType<PostgresBroker>(provider.GetRequiredService<IBroker>());
        Assert.IsType<InMemoryLockStore>(provider.GetRequiredService<ILockStore>());
    }

    [Theory]
    [InlineData("Schema", "Bad-Schema")]
    [InlineData("TablePrefix", "Solo_")]
    [InlineData("TablePrefix", "a_prefix_that_is_far_longer_than_forty_characters_")]
    public void UsePostgres_InvalidName_ThrowsAtRegistrationNamingTheSetting(string setting, string value)
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddSolo(solo => solo.UsePostgres(database.ConnectionString, o =>
        {
            if (setting == "Schema")
            {
                o.Schema = value;
            }
            else
            {
                o.TablePrefix = value;
            }
        })));

        Assert.Contains($"PostgresOptions.{setting}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsePostgres_InvalidTimes_ThrowAtRegistrationNamingTheSetting()
    {
        var services = new ServiceCollection();

        var lease = Assert.Throws<ArgumentOutOfRangeException>(() => services.AddSolo(solo => solo.UsePostgres(database.ConnectionString, o => o.DeliveryLease = TimeSpan.Zero)));
        var poll = Assert.Throws<ArgumentOutOfRangeException>(() => services.AddSolo(solo => solo.UsePostgresBroker(database.ConnectionString, o => o.PollInterval = TimeSpan.FromSeconds(-1))));

        Assert.Contains("PostgresOptions.DeliveryLease", lease.Message, StringComparison.Ordinal);
        Assert.Contains("PostgresOptions.PollInterval", poll.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsePostgres_MissingOrMalformedConnectionString_ThrowsAtRegistration()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentException>(() => services.AddSolo(solo => solo.UsePostgres(" ")));
        Assert.Throws<ArgumentException>(() => services.AddSolo(solo => solo.UsePostgresLocks("Host=127.0.0.1;NoSuchSetting=1")));
    }

    private static ServiceProvider Build(Action<SoloBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSolo(configure);
        return services.BuildServiceProvider();
    }
}
