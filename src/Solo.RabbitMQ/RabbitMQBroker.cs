using System.Collections.Concurrent;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Solo.Brokers;
using Solo.Shared;

namespace Solo.RabbitMQ;

/// <summary>
/// A broker on RabbitMQ (3.10 or later, no plugins): durable quorum queues, persistent messages published
/// with confirms, manual acks with a prefetch, delayed delivery through TTL queues, and a dead-letter queue
/// per queue that keeps each message's reason. Connections and consumers recover by themselves after the
/// server or the network comes back.
/// </summary>
/// <remarks>
/// <para>
/// Objects per Solo queue <c>Q</c>, declared on first use: the work queue <c>Q</c> (quorum, durable); its
/// dead letters <c>Q.dead</c> (classic, durable); and <see cref="RabbitMQBrokerOptions.DelayLevels"/> delay
/// levels, each a topic exchange and a quorum queue named <c>Q.delay.{ttl}ms</c> with <c>x-message-ttl</c>
/// = <see cref="RabbitMQBrokerOptions.DelayResolution"/> × 2^level. A delayed message travels through the
/// levels whose bits are set in its delay and then dead-letters into <c>Q</c>: it arrives after its start
/// time, late by at most one <see cref="RabbitMQBrokerOptions.DelayResolution"/> plus the server's latency.
/// </para>
/// <para>
/// Receiving runs one consumer per queue and broker instance, on a connection of its own, which fills a
/// local buffer of up to <see cref="RabbitMQBrokerOptions.PrefetchCount"/> messages. A received message is
/// leased for <see cref="RabbitMQBrokerOptions.DeliveryLease"/>, kept on the client: when the lease ends
/// unsettled the message is nacked back to its queue, and when this process dies or loses its connection the
/// server returns its unacked messages itself. <see cref="IDelivery.DeliveryCount"/> is the quorum queue's
/// <c>x-delivery-count</c> plus one. A delivery whose lease ended is stale: settling it does nothing and
/// renewing it returns false, and its delivery tag never reaches the server again.
/// </para>
/// <para>
/// <see cref="IDelivery.RequeueAsync"/> and <see cref="IDelivery.DeadLetterAsync"/> publish the replacement or
/// the dead letter and wait for its confirm before acking the original: if the process dies in between, both
/// exist (at least once), never neither. Moving a delayed message from one delay queue to the next is the
/// server's own dead-lettering, at least once (quorum delay queues), so a restart cannot lose it.
/// </para>
/// <para>
/// On RabbitMQ 4, quorum queues have a default delivery limit of 20: a message returned unsettled more often
/// (expired leases, crashed consumers) is moved to <c>Q.dead</c> by the server, and
/// <see cref="GetDeadLettersAsync"/> reports the server's reason (<c>delivery_limit</c>).
/// </para>
/// <para>
/// <see cref="GetCountsAsync"/> reads ready, scheduled and dead-lettered counts from the server (passive
/// declares) and adds the messages this instance has buffered but not handed out to Ready. InFlight counts
/// only this instance's leased deliveries: AMQP does not show other consumers' unacked messages (the
/// management plugin would). A count taken while the server is pushing messages to this instance may miss
/// those for a moment, and a message whose delay is longer than one pass through the delay levels counts as
/// ready for the moment between two passes.
/// </para>
/// </remarks>
public sealed class RabbitMQBroker : IBroker, IAsyncDisposable, IDisposable
{
    private readonly RabbitMQBrokerOptions _options;
    private readonly TimeProvider _time;
    private readonly ConnectionHolder _publishing;
    private readonly ConnectionHolder _consuming;
    private readonly TopologyManager _topology;
    private readonly Publisher _publisher;
    private readonly ConcurrentDictionary<string, QueueConsumer> _consumers = new(StringComparer.Ordinal);
    private int _disposed;

    /// <summary>Creates a broker; it connects on first use.</summary>
    /// <param name="options">Its settings; read once, here.</param>
    /// <param name="timeProvider">The clock of start times, leases, dead-letter times and waits.</param>
    public RabbitMQBroker(RabbitMQBrokerOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options.Clone();
        _options.Validate(nameof(options));
        _time = timeProvider;
        // Separate connections, so that the server's flow control of publishers never stalls acks.
        _publishing = new ConnectionHolder(_options, "publish", timeProvider);
        _consuming = new ConnectionHolder(_options, "consume", timeProvider);
        _topology = new TopologyManager(_publishing, _options);
        _publisher = new Publisher(_publishing, _topology, _options, timeProvider);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="RabbitMQBrokerOptions.DeliveryLease"/>: the server tracks connections but not time, so this
    /// broker times leases itself, on the client, and a worker must renew within it.
    /// </remarks>
    public TimeSpan? DeliveryLease => _options.DeliveryLease;

    /// <summary>The server as errors name it: <c>RabbitMQ host:port</c>, without credentials.</summary>
    public string Server => _publishing.Backend;

    /// <inheritdoc />
    /// <remarks>
    /// Completes once the server confirmed every message (all confirms of a batch are in flight at once).
    /// While the server is unreachable it waits up to <see cref="RabbitMQBrokerOptions.OperationTimeout"/>,
    /// then throws <see cref="BackendUnavailableException"/>, as it does when the connection is lost before
    /// every confirm came.
    /// </remarks>
    public async ValueTask PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            Validate(message, nameof(messages));
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        await _publisher.PublishAsync(messages, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The first receive of a queue starts its consumer. <see cref="Timeout.InfiniteTimeSpan"/> waits until a
    /// message comes or the token is cancelled. While the server is unreachable it throws
    /// <see cref="BackendUnavailableException"/> after <see cref="RabbitMQBrokerOptions.OperationTimeout"/>.
    /// </remarks>
    public async ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken)
    {
        QueueNames.Validate(queue, nameof(queue));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        BrokerArguments.ValidateWait(wait);

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var consumer = _consumers.GetOrAdd(queue, static (q, broker) => broker.CreateConsumer(q), this);
        return await consumer.ReceiveAsync(maxMessages, wait, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>See the remarks of <see cref="RabbitMQBroker"/> on what InFlight can see. A queue that does not exist counts as empty.</remarks>
    public async ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken)
    {
        QueueNames.Validate(queue, nameof(queue));
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var names = _topology.Names(queue);
        var ready = await _topology.CountAsync(names.Queue, cancellationToken).ConfigureAwait(false);
        long scheduled = 0;
        long deadLettered = 0;
        if (ready is not null)
        {
            for (var level = 0; level < names.Levels; level++)
            {
                scheduled += await _topology.CountAsync(names.Delay(level), cancellationToken).ConfigureAwait(false) ?? 0;
            }

            deadLettered = await _topology.CountAsync(names.DeadLetters, cancellationToken).ConfigureAwait(false) ?? 0;
        }

        // Read after the server's counts: a message the server handed over before answering is in the buffer by now.
        var local = _consumers.TryGetValue(queue, out var consumer) ? consumer : null;
        return new QueueCounts((ready ?? 0) + (local?.Buffered ?? 0), scheduled, local?.Leased ?? 0, deadLettered);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads the dead-letter queue with <c>basic.get</c> on a channel of its own and closes it, which returns
    /// the messages to their places: reading removes nothing. While a read is under way, those messages count
    /// as in flight to the server.
    /// </remarks>
    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken)
    {
        QueueNames.Validate(queue, nameof(queue));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var names = _topology.Names(queue);
        var letters = new List<DeadLetter>();
        try
        {
            var connection = await _publishing.GetAsync(cancellationToken).ConfigureAwait(false);
            var channel = await connection.CreateChannelAsync(options: null, cancellationToken).ConfigureAwait(false);
            await using (channel.ConfigureAwait(false))
            {
                try
                {
                    while (letters.Count < maxMessages
                        && await channel.BasicGetAsync(names.DeadLetters, autoAck: false, cancellationToken).ConfigureAwait(false) is { } result)
                    {
                        letters.Add(ToDeadLetter(queue, result));
                    }
                }
                catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.NotFound)
                {
                    return [];
                }

                if (channel.IsOpen)
                {
                    await channel.CloseAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex))
        {
            throw _publishing.Unavailable($"reading the dead letters of queue '{queue}' failed", ex);
        }

        return letters;
    }

    /// <summary>Stops the consumers (the server returns their unacked messages) and closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var consumer in _consumers.Values)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }

        await _publisher.DisposeAsync().ConfigureAwait(false);
        await _topology.DisposeAsync().ConfigureAwait(false);
        await _consuming.DisposeAsync().ConfigureAwait(false);
        await _publishing.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, for containers that dispose synchronously.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Throws when a message cannot be published, naming the parameter.</summary>
    internal static void Validate(OutgoingMessage? message, string paramName)
    {
        if (message is null)
        {
            throw new ArgumentNullException(paramName, "A message is null.");
        }

        if (string.IsNullOrEmpty(message.Id))
        {
            throw new ArgumentException("A message needs an id.", paramName);
        }

        QueueNames.Validate(message.Queue, paramName);
    }

    /// <summary>Kills the consuming connection the way a crashed process would lose it: no recovery. For tests.</summary>
    internal Task AbortConsumingConnectionAsync() => _consuming.AbortAsync();

    /// <summary>How many times the consumer of <paramref name="queue"/> was started by this instance. For tests.</summary>
    internal int ConsumerStarts(string queue) => _consumers.TryGetValue(queue, out var consumer) ? consumer.Starts : 0;

    private static DeadLetter ToDeadLetter(string queue, BasicGetResult result)
    {
        var properties = result.BasicProperties;
        var reason = MessageHeaders.ReadString(properties, MessageHeaders.Reason)
            ?? (MessageHeaders.ReadString(properties, MessageHeaders.FirstDeathReason) is { } serverReason ? $"dead-lettered by RabbitMQ: {serverReason}" : "unknown");
        var at = MessageHeaders.ReadLong(properties, MessageHeaders.DeadLetteredAt) is { } ms
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : MessageHeaders.ReadDeathTime(properties) ?? DateTimeOffset.UnixEpoch;
        return new DeadLetter(properties.MessageId ?? string.Empty, queue, result.Body.ToArray(), reason, at);
    }

    private QueueConsumer CreateConsumer(string queue) => new(queue, _consuming, _topology, _publisher, _options, _time);
}
