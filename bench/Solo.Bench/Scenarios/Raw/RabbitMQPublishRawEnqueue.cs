using System.Globalization;
using RabbitMQ.Client;
using Solo.Bench.Backends;

namespace Solo.Bench.Scenarios.Raw;

/// <summary>
/// Raw RabbitMQ.Client publishes with confirms: persistent messages of Solo's size to a durable quorum queue
/// of the segment's own, on as many confirm-tracking channels as Solo's publisher keeps (2), each publish
/// awaited until confirmed, a batch as all of its publishes in flight at once. No lock: the ratio is what a
/// unique enqueue (Redis lock included) keeps of the broker alone.
/// </summary>
internal sealed class RabbitMQPublishRawEnqueue : IRawEnqueue
{
    private const int Channels = 2;
    private int _segments;

    public string Kind => "RabbitMQ.Client BasicPublishAsync with confirms, persistent, quorum queue, 2 channels, no lock";

    public async ValueTask<RawSegment> StartAsync(BackendInstance backend, int batch, int messageBytes, CancellationToken cancellationToken)
    {
        var uri = backend.RabbitMQ ?? throw new InvalidOperationException("the backend has no RabbitMQ server");
        var connection = await RabbitMQRedisBackend.ConnectAsync(uri, cancellationToken);
        var options = new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);
        var channels = new IChannel[Channels];
        for (var i = 0; i < channels.Length; i++)
        {
            channels[i] = await connection.CreateChannelAsync(options, cancellationToken);
        }

        var queue = string.Create(CultureInfo.InvariantCulture, $"{backend.Queue}-raw-{Interlocked.Increment(ref _segments)}");
        await channels[0].QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        var body = new byte[messageBytes];
        var properties = new BasicProperties { Persistent = true };
        var next = 0;
        Func<int, long, ValueTask<int>> operation = batch == 1
            ? async (caller, sequence) =>
            {
                var channel = channels[caller % Channels];
                await channel.BasicPublishAsync("", queue, mandatory: false, properties, body, cancellationToken);
                return 1;
            }
        : async (_, _) =>
        {
            // Spread over the channels as Solo's publisher does, so both have the same confirm pipelines.
            var channel = channels[(Interlocked.Increment(ref next) & int.MaxValue) % Channels];
            var pending = new Task[batch];
            for (var i = 0; i < pending.Length; i++)
            {
                pending[i] = channel.BasicPublishAsync("", queue, mandatory: false, properties, body, cancellationToken).AsTask();
            }

            await Task.WhenAll(pending);
            return batch;
        };

        return new RawSegment(operation, new MissCounter(), async () =>
        {
            await channels[0].QueueDeleteAsync(queue, cancellationToken: CancellationToken.None);
            foreach (var channel in channels)
            {
                await channel.DisposeAsync();
            }

            await connection.DisposeAsync();
        });
    }
}
