using Solo.Brokers;
using Solo.RabbitMQ.Tests.Support;

namespace Solo.RabbitMQ.Tests.Brokers;

/// <summary>The server goes away and comes back while a broker instance lives on.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMQBrokerRestartTests(RabbitMqServerFixture server)
{
    [Fact]
    public async Task PublishAsync_ServerRestarts_FailsWhileDownThenStoredMessagesSurviveAndTheConsumerResumes()
    {
        var options = server.Options(TimeSpan.FromMinutes(5));
        options.OperationTimeout = TimeSpan.FromSeconds(1);
        await using var broker = new RabbitMQBroker(options, TimeProvider.System);
        var queue = $"restart-{Guid.NewGuid():N}";
        await broker.PublishAsync([new OutgoingMessage("m1", queue, Body("a")), new OutgoingMessage("m2", queue, Body("b"))], default);
        var held = Assert.Single(await broker.ReceiveAsync(queue, 1, TimeSpan.FromSeconds(10), default));

        BackendUnavailableException down;
        try
        {
            await server.StopAsync();
            down = await Assert.ThrowsAsync<BackendUnavailableException>(() => broker.PublishAsync([new OutgoingMessage("m3", queue, Body("c"))], default).AsTask());
            // The connection went with the server, and the lease with it: the server will deliver m1 again.
            Assert.False(await held.RenewAsync(default));
            await held.AckAsync(default);
        }
        finally
        {
            await server.StartAsync();
        }

        Assert.Equal($"RabbitMQ 127.0.0.1:{server.Port}", down.Backend);
        Assert.StartsWith($"RabbitMQ 127.0.0.1:{server.Port} is unavailable", down.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("guest", down.Message, StringComparison.Ordinal);

        // As a worker does: keep receiving, riding out the errors of the reconnect.
        var received = new Dictionary<string, IDelivery>();
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (received.Count < 2 && DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                foreach (var delivery in await broker.ReceiveAsync(queue, 10, TimeSpan.FromSeconds(1), default))
                {
                    received[delivery.MessageId] = delivery;
                }
            }
            catch (BackendUnavailableException)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(["m1", "m2"], received.Keys.Order());
        Assert.True(received["m1"].DeliveryCount >= 2, $"m1 was delivered before the restart, yet counts {received["m1"].DeliveryCount}");
        Assert.Equal(1, broker.ConsumerStarts(queue));
        foreach (var delivery in received.Values)
        {
            await delivery.AckAsync(default);
        }

        await broker.PublishAsync([new OutgoingMessage("m4", queue, Body("d"))], default);
        var after = Assert.Single(await broker.ReceiveAsync(queue, 10, TimeSpan.FromSeconds(10), default));
        Assert.Equal("m4", after.MessageId);
        await after.AckAsync(default);
        Assert.Equal(default, await broker.GetCountsAsync(queue, default));
    }

    private static byte[] Body(string text) => System.Text.Encoding.UTF8.GetBytes(text);
}
