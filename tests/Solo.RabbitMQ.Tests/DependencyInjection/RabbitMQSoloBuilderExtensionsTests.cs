using Microsoft.Extensions.DependencyInjection;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;

namespace Solo.RabbitMQ.Tests.DependencyInjection;

public sealed class RabbitMQSoloBuilderExtensionsTests
{
    [Fact]
    public async Task UseRabbitMQ_AfterAnotherBackend_ReplacesTheBrokerOnlyAndConnectsLazily()
    {
        var services = new ServiceCollection();
        services.AddSolo(solo => solo.UseInMemory().UseRabbitMQ("amqp://guest:guest@127.0.0.1:1/"));
        await using var provider = services.BuildServiceProvider();

        var broker = Assert.IsType<RabbitMQBroker>(provider.GetRequiredService<IBroker>());
        Assert.IsType<InMemoryLockStore>(provider.GetRequiredService<ILockStore>());
        // Nothing listens on port 1: resolving must not have connected.
        Assert.Equal("RabbitMQ 127.0.0.1:1", broker.Server);
    }

    [Fact]
    public async Task UseRabbitMQ_Configure_AppliesTheOptions()
    {
        var services = new ServiceCollection();
        services.AddSolo(solo => solo.UseInMemory().UseRabbitMQ("amqp://guest:guest@127.0.0.1:1/", o => o.OperationTimeout = TimeSpan.Zero));
        await using var provider = services.BuildServiceProvider();
        var broker = provider.GetRequiredService<IBroker>();

        // With no wait allowed, an unreachable server fails at once, and the error names it without the password.
        var error = await Assert.ThrowsAsync<BackendUnavailableException>(() => broker.PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default).AsTask());
        Assert.Equal("RabbitMQ 127.0.0.1:1", error.Backend);
        Assert.DoesNotContain("guest", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseRabbitMQ_NotAUri_ThrowsWithoutRepeatingIt()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddSolo(solo => solo.UseRabbitMQ("user:secret-password@nowhere")));

        Assert.DoesNotContain("secret-password", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseRabbitMQ_InvalidSetting_ThrowsAtRegistration()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddSolo(solo => solo.UseRabbitMQ("amqp://127.0.0.1:5672/", o => o.PrefetchCount = 0)));
    }
}
