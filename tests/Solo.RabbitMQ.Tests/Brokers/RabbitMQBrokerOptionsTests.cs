using Solo.Brokers;

namespace Solo.RabbitMQ.Tests.Brokers;

public sealed class RabbitMQBrokerOptionsTests
{
    public static TheoryData<string> InvalidSettings => new()
    {
        nameof(RabbitMQBrokerOptions.DeliveryLease),
        nameof(RabbitMQBrokerOptions.PrefetchCount),
        nameof(RabbitMQBrokerOptions.OperationTimeout),
        nameof(RabbitMQBrokerOptions.RecoveryInterval),
        nameof(RabbitMQBrokerOptions.DelayResolution),
        nameof(RabbitMQBrokerOptions.DelayLevels),
        "TtlOverflow",
        nameof(RabbitMQBrokerOptions.Uri),
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Constructor_SettingOutOfRange_ThrowsNamingIt(string setting)
    {
        var options = new RabbitMQBrokerOptions();
        switch (setting)
        {
            case nameof(RabbitMQBrokerOptions.DeliveryLease): options.DeliveryLease = TimeSpan.Zero; break;
            case nameof(RabbitMQBrokerOptions.PrefetchCount): options.PrefetchCount = 65_536; break;
            case nameof(RabbitMQBrokerOptions.OperationTimeout): options.OperationTimeout = TimeSpan.FromSeconds(-1); break;
            case nameof(RabbitMQBrokerOptions.RecoveryInterval): options.RecoveryInterval = TimeSpan.Zero; break;
            case nameof(RabbitMQBrokerOptions.DelayResolution): options.DelayResolution = TimeSpan.FromMilliseconds(10.5); break;
            case nameof(RabbitMQBrokerOptions.DelayLevels): options.DelayLevels = 31; break;
            case "TtlOverflow": options.DelayResolution = TimeSpan.FromSeconds(1); options.DelayLevels = 30; break;
            case nameof(RabbitMQBrokerOptions.Uri): options.Uri = new Uri("http://127.0.0.1/"); break;
        }

        var error = Assert.ThrowsAny<ArgumentException>(() => new RabbitMQBroker(options, TimeProvider.System));

        Assert.Contains(setting == "TtlOverflow" ? "DelayLevels" : setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Constructor_OptionsChangedAfterwards_KeepsTheSettingsItRead()
    {
        var options = new RabbitMQBrokerOptions { Uri = new Uri("amqp://127.0.0.1:1/"), OperationTimeout = TimeSpan.Zero };
        await using var broker = new RabbitMQBroker(options, TimeProvider.System);

        options.Uri = new Uri("amqp://127.0.0.1:2/");

        Assert.Equal("RabbitMQ 127.0.0.1:1", broker.Server);
        await Assert.ThrowsAsync<BackendUnavailableException>(() => broker.GetCountsAsync("q", default).AsTask());
    }

    [Fact]
    public async Task DeliveryLease_Configured_IsWhatWorkersRenewWithin()
    {
        await using var broker = new RabbitMQBroker(new RabbitMQBrokerOptions { DeliveryLease = TimeSpan.FromSeconds(7) }, TimeProvider.System);

        Assert.Equal(TimeSpan.FromSeconds(7), ((IBroker)broker).DeliveryLease);
    }

    [Fact]
    public async Task PublishAsync_InvalidMessage_ThrowsBeforeConnecting()
    {
        await using var broker = new RabbitMQBroker(new RabbitMQBrokerOptions { Uri = new Uri("amqp://127.0.0.1:1/"), OperationTimeout = TimeSpan.Zero }, TimeProvider.System);

        await Assert.ThrowsAsync<ArgumentException>(() => broker.PublishAsync([new OutgoingMessage("m1", "amq.reserved", new byte[] { 1 })], default).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => broker.PublishAsync([new OutgoingMessage(string.Empty, "q", new byte[] { 1 })], default).AsTask());
    }
}
