using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Solo.Brokers;

namespace Solo.RabbitMQ;

/// <summary>
/// Publishes persistent messages with publisher confirms on a few channels of the publishing connection.
/// A batch goes out on one channel with all its confirms in flight at once, and completes only when the
/// server confirmed every message; anything less is an exception.
/// </summary>
internal sealed class Publisher : IAsyncDisposable
{
    // Several channels spread the server-side work of confirms; one batch stays on one channel so that its
    // messages keep their order.
    private const int ChannelCount = 2;

    private static readonly CreateChannelOptions ConfirmingChannel = new(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);

    private readonly ConnectionHolder _connection;
    private readonly TopologyManager _topology;
    private readonly TimeProvider _time;
    private readonly long _unitTicks;
    private readonly int _levels;
    private readonly TimeSpan _confirmTimeout;
    private readonly IChannel?[] _channels = new IChannel?[ChannelCount];
    private readonly SemaphoreSlim _channelGate = new(1, 1);
    private int _next;

    public Publisher(ConnectionHolder connection, TopologyManager topology, RabbitMQBrokerOptions options, TimeProvider time)
    {
        _connection = connection;
        _topology = topology;
        _time = time;
        _unitTicks = options.DelayResolution.Ticks;
        _levels = options.DelayLevels;
        // Zero means "do not wait for an unreachable server"; a reachable one still needs time to confirm.
        _confirmTimeout = options.OperationTimeout < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : options.OperationTimeout;
    }

    /// <summary>Publishes messages to their queues, delayed ones through the delay queues.</summary>
    public async Task PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        foreach (var queue in messages.Select(m => m.Queue).Distinct(StringComparer.Ordinal))
        {
            await _topology.EnsureAsync(queue, cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        var outgoing = new Outgoing[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            outgoing[i] = Route(messages[i], now);
        }

        await SendWithRetryOfReturnsAsync(outgoing, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores a copy of a message in its queue's dead letters, with the reason and the time.</summary>
    public async Task PublishDeadLetterAsync(string queue, string messageId, ReadOnlyMemory<byte> body, string reason, CancellationToken cancellationToken)
    {
        await _topology.EnsureAsync(queue, cancellationToken).ConfigureAwait(false);
        var properties = new BasicProperties
        {
            Persistent = true,
            MessageId = messageId,
            Headers = new Dictionary<string, object?>
            {
                [MessageHeaders.Reason] = reason,
                [MessageHeaders.DeadLetteredAt] = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            },
        };
        await SendWithRetryOfReturnsAsync([new Outgoing(queue, string.Empty, _topology.Names(queue).DeadLetters, properties, body)], cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _channelGate.WaitAsync().ConfigureAwait(false);
        try
        {
            for (var i = 0; i < _channels.Length; i++)
            {
                if (_channels[i] is { } channel)
                {
                    _channels[i] = null;
                    await channel.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _channelGate.Release();
        }
    }

    private Outgoing Route(OutgoingMessage message, DateTimeOffset now)
    {
        var names = _topology.Names(message.Queue);
        var properties = new BasicProperties { Persistent = true, MessageId = message.Id };
        if (message.NotBefore is not { } notBefore || notBefore <= now)
        {
            return new Outgoing(message.Queue, string.Empty, names.Queue, properties, message.Body);
        }

        // Rounded up, so that a message never arrives before its start time; a delay beyond one pass
        // through the levels arrives early and is sent round again by the consumer.
        var units = ((notBefore - now).Ticks + _unitTicks - 1) / _unitTicks;
        units = Math.Min(units, (1L << _levels) - 1);
        properties.Headers = new Dictionary<string, object?> { [MessageHeaders.NotBefore] = notBefore.ToUnixTimeMilliseconds() };
        return new Outgoing(message.Queue, names.DelayEntry, QueueNames.RoutingKey(units, _levels), properties, message.Body);
    }

    private async Task SendWithRetryOfReturnsAsync(Outgoing[] outgoing, CancellationToken cancellationToken)
    {
        var returned = await SendAsync(outgoing, cancellationToken).ConfigureAwait(false);
        if (returned.Count == 0)
        {
            return;
        }

        // Returned means unroutable and therefore not stored: an object was deleted behind this instance's
        // back. Declaring again and resending only those messages cannot duplicate anything.
        foreach (var queue in returned.Select(o => o.Queue).Distinct(StringComparer.Ordinal))
        {
            _topology.Forget(queue);
            await _topology.EnsureAsync(queue, cancellationToken).ConfigureAwait(false);
        }

        returned = await SendAsync(returned.ToArray(), cancellationToken).ConfigureAwait(false);
        if (returned.Count > 0)
        {
            throw new InvalidOperationException($"RabbitMQ could not route {returned.Count} message(s) to queue '{returned[0].Queue}' (returned as unroutable); they were not stored.");
        }
    }

    /// <summary>Publishes with every confirm in flight; returns the messages the server returned as unroutable.</summary>
    private async Task<List<Outgoing>> SendAsync(Outgoing[] outgoing, CancellationToken cancellationToken)
    {
        IChannel channel;
        try
        {
            channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex))
        {
            throw _connection.Unavailable("opening a publishing channel failed", ex);
        }

        using var timeout = new CancellationTokenSource(_confirmTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var pending = new Task[outgoing.Length];
        for (var i = 0; i < outgoing.Length; i++)
        {
            var o = outgoing[i];
            pending[i] = channel.BasicPublishAsync(o.Exchange, o.RoutingKey, mandatory: true, o.Properties, o.Body, linked.Token).AsTask();
        }

        // Each task's own outcome decides below, so that returns can be told from failures.
        var all = Task.WhenAll(pending);
        await all.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (all.IsCompletedSuccessfully)
        {
            return [];
        }

        var returned = new List<Outgoing>();
        Exception? failure = null;
        for (var i = 0; i < pending.Length; i++)
        {
            var task = pending[i];
            if (task.IsCompletedSuccessfully)
            {
                continue;
            }

            var error = task.Exception?.InnerException;
            if (error is PublishException { IsReturn: true })
            {
                returned.Add(outgoing[i]);
                continue;
            }

            failure ??= Translate(error, task.IsCanceled, timeout.IsCancellationRequested, cancellationToken);
        }

        if (failure is not null)
        {
            throw failure;
        }

        return returned;
    }

    private Exception Translate(Exception? error, bool canceled, bool timedOut, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException("The publish was cancelled before every message was confirmed; some may be stored.", error, cancellationToken);
        }

        if (timedOut && (canceled || error is OperationCanceledException))
        {
            return _connection.Unavailable($"no publisher confirm within {_confirmTimeout.TotalSeconds:0.#} s; some messages may be stored", error);
        }

        return error switch
        {
            PublishException => _connection.Unavailable("the server refused to store a message (publisher nack)", error),
            not null when ConnectionHolder.IsConnectivityFailure(error) => _connection.Unavailable("the connection was lost before every message was confirmed; some may be stored", error),
            not null => error,
            _ => new InvalidOperationException("A publish was cancelled by the client library."),
        };
    }

    private async ValueTask<IChannel> GetChannelAsync(CancellationToken cancellationToken)
    {
        var connection = await _connection.GetAsync(cancellationToken).ConfigureAwait(false);
        var slot = (int)((uint)Interlocked.Increment(ref _next) % ChannelCount);
        if (_channels[slot] is { IsOpen: true } open)
        {
            return open;
        }

        await _channelGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channels[slot] is { IsOpen: true } reopened)
            {
                return reopened;
            }

            // Closed while the connection is fine: the server closed this channel (say, a publish to a deleted
            // exchange), and automatic recovery only brings back channels that a lost connection took down.
            if (_channels[slot] is { } closed)
            {
                await closed.DisposeAsync().ConfigureAwait(false);
            }

            var channel = await connection.CreateChannelAsync(ConfirmingChannel, cancellationToken).ConfigureAwait(false);
            _channels[slot] = channel;
            return channel;
        }
        finally
        {
            _channelGate.Release();
        }
    }

    private sealed record Outgoing(string Queue, string Exchange, string RoutingKey, BasicProperties Properties, ReadOnlyMemory<byte> Body);
}
