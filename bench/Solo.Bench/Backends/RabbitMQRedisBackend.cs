using System.Globalization;
using RabbitMQ.Client;
using Solo.Bench.Servers;
using Solo.Brokers;
using Solo.RabbitMQ;
using Solo.Redis;

namespace Solo.Bench.Backends;

/// <summary>
/// RabbitMQ as the broker and Redis as the lock store, the pairing issue 4 asks about. Each run gets a
/// queue of its own, whose objects are declared before the run (the first publish of a broker instance
/// declares some 40 objects, which a 0.5 s segment must not pay for) and deleted after it.
/// </summary>
internal sealed class RabbitMQRedisBackend(RedisConnection redis, PrivateServers servers) : IBenchBackend
{
    private static readonly RabbitMQBrokerOptions Defaults = new();
    private int _runs;

    public string Name => "rabbitmq-redis";

    public static async Task<IConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken)
    {
        PrivateServers.RequireLoopback(uri.Host, "--rabbitmq");
        return await new ConnectionFactory { Uri = uri }.CreateConnectionAsync(cancellationToken);
    }

    public async ValueTask<BackendInstance> CreateAsync(CancellationToken cancellationToken)
    {
        var uri = await servers.RabbitMQAsync(cancellationToken);
        var connection = await redis.GetAsync(cancellationToken);
        var run = Interlocked.Increment(ref _runs);
        var queue = string.Create(CultureInfo.InvariantCulture, $"bench-{Environment.ProcessId}-{run}");
        var prefix = $"bench:{run}:";
        var broker = new RabbitMQBroker(new RabbitMQBrokerOptions { Uri = uri }, TimeProvider.System);

        await broker.PublishAsync([new OutgoingMessage("prime", queue, new byte[1])], cancellationToken);
        await using (var admin = await ConnectAsync(uri, cancellationToken))
        await using (var channel = await admin.CreateChannelAsync(cancellationToken: cancellationToken))
        {
            await channel.QueuePurgeAsync(queue, cancellationToken);
        }

        return new BackendInstance(broker, new RedisLockStore(connection), queue, prefix, async () =>
        {
            await broker.DisposeAsync();
            await DeleteAsync(uri, queue);
            await redis.RemoveAsync(prefix);
        })
        {
            Redis = connection,
            RabbitMQ = uri,
        };
    }

    private static async Task DeleteAsync(Uri uri, string queue)
    {
        await using var admin = await ConnectAsync(uri, CancellationToken.None);
        await using var channel = await admin.CreateChannelAsync();
        await channel.QueueDeleteAsync(queue);
        await channel.QueueDeleteAsync(queue + ".dead");
        var unitMs = (long)Defaults.DelayResolution.TotalMilliseconds;
        for (var level = 0; level < Defaults.DelayLevels; level++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{queue}.delay.{unitMs << level}ms");
            await channel.QueueDeleteAsync(name);
            await channel.ExchangeDeleteAsync(name);
        }
    }
}
