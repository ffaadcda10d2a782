using System.Collections.Concurrent;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Solo.RabbitMQ;

/// <summary>
/// Declares the objects of each queue (see <see cref="QueueNames"/>) once per broker instance, and counts
/// messages with passive declares. Declarations are idempotent, so several processes may race to make them.
/// Everything goes through one channel of its own, replaced when the server closes it (a passive declare of
/// a missing queue does that).
/// </summary>
internal sealed class TopologyManager(ConnectionHolder connection, RabbitMQBrokerOptions options) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, QueueNames> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _declared = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;

    public QueueNames Names(string queue) =>
        _names.GetOrAdd(queue, static (q, o) => new QueueNames(q, o.DelayResolution, o.DelayLevels), options);

    /// <summary>Declares the queue's objects unless this instance already did.</summary>
    public ValueTask EnsureAsync(string queue, CancellationToken cancellationToken) =>
        _declared.ContainsKey(queue) ? ValueTask.CompletedTask : DeclareAsync(queue, cancellationToken);

    /// <summary>Makes the next <see cref="EnsureAsync"/> declare again, after the server showed that an object is missing.</summary>
    public void Forget(string queue) => _declared.TryRemove(queue, out _);

    /// <summary>The ready messages of an AMQP queue, or null when it does not exist.</summary>
    public async ValueTask<long?> CountAsync(string amqpQueue, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var ok = await channel.QueueDeclarePassiveAsync(amqpQueue, cancellationToken).ConfigureAwait(false);
                return ok.MessageCount;
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.NotFound)
            {
                // The server closed the channel; the next call opens another.
                return null;
            }
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex))
        {
            throw connection.Unavailable("counting messages failed", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_channel is { } channel)
            {
                _channel = null;
                await channel.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask DeclareAsync(string queue, CancellationToken cancellationToken)
    {
        var names = Names(queue);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
            await DeclareAllAsync(channel, names, cancellationToken).ConfigureAwait(false);
            _declared[queue] = true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason is { Initiator: ShutdownInitiator.Peer, ReplyCode: Constants.PreconditionFailed })
        {
            throw new InvalidOperationException(
                $"RabbitMQ refused the objects of queue '{queue}': one of them exists with other settings (Solo needs '{queue}' to be a quorum queue). {ex.ShutdownReason.ReplyText}",
                ex);
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex))
        {
            throw connection.Unavailable($"declaring queue '{queue}' failed", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task DeclareAllAsync(IChannel channel, QueueNames names, CancellationToken cancellationToken)
    {
        await channel.QueueDeclareAsync(names.DeadLetters, durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);

        // A quorum queue counts deliveries (x-delivery-count) and is replicated where there are replicas.
        // Messages that the server itself dead-letters (RabbitMQ 4's default delivery limit of 20) land with
        // the others, where GetDeadLettersAsync shows the server's reason.
        var work = new Dictionary<string, object?>
        {
            ["x-queue-type"] = "quorum",
            ["x-dead-letter-exchange"] = string.Empty,
            ["x-dead-letter-routing-key"] = names.DeadLetters,
        };
        await channel.QueueDeclareAsync(names.Queue, durable: true, exclusive: false, autoDelete: false, arguments: work, cancellationToken: cancellationToken).ConfigureAwait(false);

        // Bottom up, so that every exchange a binding or a dead-letter route names exists already.
        for (var level = 0; level < names.Levels; level++)
        {
            var name = names.Delay(level);

            // Quorum, with at-least-once dead-lettering: the server moves an expired message to the next
            // level (or into the work queue) with confirms. Classic queues dead-letter at most once: on a
            // restart they were recovered before the work queue had a leader, and messages that expired
            // during the outage were dropped ("leader not known. Command is dropped"), found by the
            // RabbitMQ restart fault test.
            var arguments = new Dictionary<string, object?>
            {
                ["x-queue-type"] = "quorum",
                ["x-dead-letter-strategy"] = "at-least-once",
                ["x-overflow"] = "reject-publish",
                ["x-message-ttl"] = names.DelayTtl(level),
                ["x-dead-letter-exchange"] = level == 0 ? string.Empty : names.Delay(level - 1),
            };
            if (level == 0)
            {
                arguments["x-dead-letter-routing-key"] = names.Queue;
            }

            await channel.ExchangeDeclareAsync(name, ExchangeType.Topic, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueBindAsync(name, name, names.OneBinding(level), arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (level == 0)
            {
                await channel.QueueBindAsync(names.Queue, name, names.ZeroBinding(level), arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await channel.ExchangeBindAsync(names.Delay(level - 1), name, names.ZeroBinding(level), arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<IChannel> GetChannelAsync(CancellationToken cancellationToken)
    {
        var conn = await connection.GetAsync(cancellationToken).ConfigureAwait(false);
        if (_channel is { IsOpen: true } open)
        {
            return open;
        }

        if (_channel is { } closed)
        {
            await closed.DisposeAsync().ConfigureAwait(false);
        }

        _channel = await conn.CreateChannelAsync(options: null, cancellationToken).ConfigureAwait(false);
        return _channel;
    }
}
