using System.Collections.Concurrent;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Solo.Brokers;

namespace Solo.RabbitMQ;

/// <summary>
/// The push consumer of one queue in one broker instance: <c>basic.consume</c> with manual acks and a
/// prefetch fills a local buffer, from which <see cref="ReceiveAsync"/> takes what the receiver asks for and
/// leases it. The lease is kept here, on the client: when it ends unsettled the message is nacked back to
/// the queue (the quorum queue counts that as a delivery attempt). A lost channel or connection ends every
/// lease at once, since the server then returns the unacked messages itself.
/// </summary>
internal sealed class QueueConsumer : IAsyncDisposable
{
    // After a failed attempt to send an early message round the delay queues again, so a broken publish
    // path does not turn into a hot loop of redeliveries.
    private static readonly TimeSpan HopRetryDelay = TimeSpan.FromSeconds(1);

    private readonly ConnectionHolder _connection;
    private readonly TopologyManager _topology;
    private readonly Publisher _publisher;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lease;
    private readonly ushort _prefetch;
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private readonly Channel<Incoming> _buffer = Channel.CreateUnbounded<Incoming>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly ConcurrentDictionary<RabbitMQDelivery, bool> _leased = new();

    // Taken to move between generations and to lease buffered messages, so that no delivery is leased
    // in a generation that has already ended.
    private readonly Lock _generationGate = new();
    private IChannel? _channel;
    private AsyncEventingBasicConsumer? _consumer;
    private int _generation;
    private int _buffered;
    private volatile bool _disposed;

    public QueueConsumer(string queue, ConnectionHolder connection, TopologyManager topology, Publisher publisher, RabbitMQBrokerOptions options, TimeProvider time)
    {
        Queue = queue;
        _connection = connection;
        _topology = topology;
        _publisher = publisher;
        _time = time;
        _lease = options.DeliveryLease;
        _prefetch = (ushort)options.PrefetchCount;
    }

    public string Queue { get; }

    /// <summary>Messages the server sent ahead that no receiver has taken yet: still ready, as far as a receiver can tell.</summary>
    public int Buffered => Volatile.Read(ref _buffered);

    /// <summary>Deliveries leased to receivers and not yet settled.</summary>
    public int Leased => _leased.Count;

    /// <summary>How many times this consumer opened a channel and subscribed; recoveries by the client do not count. For tests.</summary>
    public int Starts { get; private set; }

    public async ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(int maxMessages, TimeSpan wait, CancellationToken cancellationToken)
    {
        var start = _time.GetUtcNow();
        while (true)
        {
            // Again after every wake-up: a consumer that the server cancelled wakes its waiting receivers.
            await EnsureConsumingAsync(cancellationToken).ConfigureAwait(false);
            var taken = TakeBuffered(maxMessages);
            if (taken.Count > 0)
            {
                return taken;
            }

            CancellationTokenSource? timeout = null;
            if (wait != Timeout.InfiniteTimeSpan)
            {
                var left = start + wait - _time.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    return [];
                }

                timeout = new CancellationTokenSource(left, _time);
            }

            using (timeout)
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout?.Token ?? CancellationToken.None))
            {
                try
                {
                    await _buffer.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return [];
                }
            }
        }
    }

    public async ValueTask AckAsync(RabbitMQDelivery delivery, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!BeginSettle(delivery))
        {
            return;
        }

        try
        {
            await SendAckAsync(delivery, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            EndSettle(delivery);
        }
    }

    public async ValueTask RequeueAsync(RabbitMQDelivery delivery, OutgoingMessage replacement, CancellationToken cancellationToken)
    {
        // Checked before anything changes, so that a bad replacement cannot cost the original.
        RabbitMQBroker.Validate(replacement, nameof(replacement));
        cancellationToken.ThrowIfCancellationRequested();
        if (!BeginSettle(delivery))
        {
            return;
        }

        try
        {
            // Stored (confirmed) before the original goes: at worst both exist, never neither.
            await _publisher.PublishAsync([replacement], cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            AbortSettle(delivery);
            throw;
        }

        try
        {
            await SendAckAsync(delivery, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            EndSettle(delivery);
        }
    }

    public async ValueTask DeadLetterAsync(RabbitMQDelivery delivery, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        cancellationToken.ThrowIfCancellationRequested();
        if (!BeginSettle(delivery))
        {
            return;
        }

        try
        {
            await _publisher.PublishDeadLetterAsync(Queue, delivery.MessageId, delivery.Body, reason, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            AbortSettle(delivery);
            throw;
        }

        try
        {
            await SendAckAsync(delivery, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            EndSettle(delivery);
        }
    }

    public bool Renew(RabbitMQDelivery delivery)
    {
        lock (delivery)
        {
            if (delivery.State != RabbitMQDelivery.Leased || !IsCurrent(delivery))
            {
                return false;
            }

            var now = _time.GetUtcNow();
            if (now >= delivery.LeaseEnds)
            {
                // Its timer is about to fire; the lease is over all the same.
                return false;
            }

            delivery.LeaseEnds = now + _lease;
            delivery.Timer?.Change(_lease, Timeout.InfiniteTimeSpan);
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _startGate.WaitAsync().ConfigureAwait(false);
        try
        {
            EndGeneration();
            if (_channel is { } channel)
            {
                _channel = null;
                await CloseQuietlyAsync(channel).ConfigureAwait(false);
            }
        }
        finally
        {
            _startGate.Release();
        }
    }

    private static async Task CloseQuietlyAsync(IChannel channel)
    {
        try
        {
            // Closing returns every unacked message of this channel to its queue.
            await channel.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex) || ex is OperationCanceledException)
        {
            // Gone already: the server returned them when it went.
        }

        await channel.DisposeAsync().ConfigureAwait(false);
    }

    private bool IsCurrent(RabbitMQDelivery delivery) => delivery.Generation == Volatile.Read(ref _generation);

    private async ValueTask EnsureConsumingAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_connection.IsReady && _channel is { IsOpen: true } && _consumer is { IsRunning: true })
        {
            return;
        }

        // Waits out a reconnect (up to the operation timeout): the client recovers the channel and its
        // consumer by itself, so most of the time there is nothing left to do once it is back.
        var connection = await _connection.GetAsync(cancellationToken).ConfigureAwait(false);
        await _startGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_channel is { IsOpen: true } && _consumer is { IsRunning: true })
            {
                return;
            }

            if (_channel is { } old)
            {
                // The server closed the channel or cancelled the consumer (its queue was deleted, say), which
                // automatic recovery does not undo: start over, declaring the queue again.
                _channel = null;
                _consumer = null;
                EndGeneration();
                _topology.Forget(Queue);
                await CloseQuietlyAsync(old).ConfigureAwait(false);
            }

            await _topology.EnsureAsync(Queue, cancellationToken).ConfigureAwait(false);
            var channel = await connection.CreateChannelAsync(options: null, cancellationToken).ConfigureAwait(false);
            // The event's sender is the client's inner channel, not this wrapper, so the handler remembers which one it watches.
            channel.ChannelShutdownAsync += (_, _) => OnChannelShutdownAsync(channel);
            await channel.BasicQosAsync(prefetchSize: 0, _prefetch, global: false, cancellationToken).ConfigureAwait(false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += OnReceivedAsync;
            consumer.UnregisteredAsync += (_, _) => WakeReceivers();
            _channel = channel;
            _consumer = consumer;
            Starts++;
            await channel.BasicConsumeAsync(Queue, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false, arguments: null, consumer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex))
        {
            throw _connection.Unavailable($"starting the consumer of queue '{Queue}' failed", ex);
        }
        finally
        {
            _startGate.Release();
        }
    }

    private List<IDelivery> TakeBuffered(int maxMessages)
    {
        var taken = new List<IDelivery>();
        lock (_generationGate)
        {
            var now = _time.GetUtcNow();
            while (taken.Count < maxMessages && _buffer.Reader.TryRead(out var incoming))
            {
                if (ReferenceEquals(incoming, Incoming.Wake))
                {
                    continue;
                }

                Interlocked.Decrement(ref _buffered);
                if (incoming.Generation != _generation)
                {
                    continue;
                }

                var delivery = new RabbitMQDelivery(this, incoming.Channel!, incoming.DeliveryTag, incoming.Generation, incoming.MessageId, incoming.Body, incoming.DeliveryCount);
                lock (delivery)
                {
                    delivery.LeaseEnds = now + _lease;
                    delivery.Timer = _time.CreateTimer(static state => ((RabbitMQDelivery)state!).OnLeaseTimer(), delivery, _lease, Timeout.InfiniteTimeSpan);
                }

                _leased[delivery] = true;
                taken.Add(delivery);
            }
        }

        return taken;
    }

    /// <summary>The lease timer fired: return the message to the queue unless it was settled or renewed meanwhile.</summary>
    internal void OnLeaseEnded(RabbitMQDelivery delivery)
    {
        lock (delivery)
        {
            if (delivery.State != RabbitMQDelivery.Leased)
            {
                return;
            }

            var left = delivery.LeaseEnds - _time.GetUtcNow();
            if (left > TimeSpan.Zero)
            {
                // Renewed after the timer had already been queued to fire.
                delivery.Timer?.Change(left, Timeout.InfiniteTimeSpan);
                return;
            }

            delivery.State = RabbitMQDelivery.Ended;
        }

        Forget(delivery);
        if (IsCurrent(delivery))
        {
            _ = NackQuietlyAsync(delivery.Channel, delivery.DeliveryTag);
        }
    }

    private bool BeginSettle(RabbitMQDelivery delivery)
    {
        var expired = false;
        lock (delivery)
        {
            if (delivery.State != RabbitMQDelivery.Leased || !IsCurrent(delivery))
            {
                return false;
            }

            if (_time.GetUtcNow() < delivery.LeaseEnds)
            {
                delivery.State = RabbitMQDelivery.Settling;
                return true;
            }

            // Past its end, its timer not yet run: the lease is lost, so end it here as the timer would.
            delivery.State = RabbitMQDelivery.Ended;
            expired = true;
        }

        if (expired)
        {
            Forget(delivery);
            _ = NackQuietlyAsync(delivery.Channel, delivery.DeliveryTag);
        }

        return false;
    }

    /// <summary>Settling failed before anything changed: the delivery is leased again, unless its time ran out meanwhile.</summary>
    private void AbortSettle(RabbitMQDelivery delivery)
    {
        lock (delivery)
        {
            if (delivery.State == RabbitMQDelivery.Settling)
            {
                delivery.State = RabbitMQDelivery.Leased;
            }
        }

        OnLeaseEnded(delivery);
    }

    private void EndSettle(RabbitMQDelivery delivery)
    {
        lock (delivery)
        {
            delivery.State = RabbitMQDelivery.Ended;
        }

        Forget(delivery);
    }

    private void Forget(RabbitMQDelivery delivery)
    {
        _leased.TryRemove(delivery, out _);
        ITimer? timer;
        lock (delivery)
        {
            timer = delivery.Timer;
            delivery.Timer = null;
        }

        timer?.Dispose();
    }

    private async ValueTask SendAckAsync(RabbitMQDelivery delivery, CancellationToken cancellationToken)
    {
        if (!IsCurrent(delivery))
        {
            // The channel went while settling; the server has already returned the message.
            return;
        }

        try
        {
            await delivery.Channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex) || ex is ObjectDisposedException)
        {
            // The channel died under the ack, or another receiver replaced and disposed it after it shut down
            // (seen once in the concurrent-consumers conformance test): the server returns the message, as for
            // any lost lease.
        }
    }

    private async Task NackQuietlyAsync(IChannel channel, ulong deliveryTag)
    {
        try
        {
            await channel.BasicNackAsync(deliveryTag, multiple: false, requeue: true).ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex) || ex is OperationCanceledException or ObjectDisposedException)
        {
            // The channel died (or was replaced and disposed): the server returns the message by itself.
        }
    }

    /// <summary>Ends every lease and drops the buffer: the channel they belong to is gone.</summary>
    private void EndGeneration()
    {
        List<RabbitMQDelivery> ended;
        lock (_generationGate)
        {
            _generation++;
            while (_buffer.Reader.TryRead(out var dropped))
            {
                if (!ReferenceEquals(dropped, Incoming.Wake))
                {
                    Interlocked.Decrement(ref _buffered);
                }
            }

            ended = [.. _leased.Keys];
        }

        foreach (var delivery in ended)
        {
            lock (delivery)
            {
                delivery.State = RabbitMQDelivery.Ended;
            }

            Forget(delivery);
        }

        WakeReceivers();
    }

    /// <summary>Wakes every waiting receiver, to look at the consumer again; the marker itself is skipped.</summary>
    private Task WakeReceivers()
    {
        _buffer.Writer.TryWrite(Incoming.Wake);
        return Task.CompletedTask;
    }

    private Task OnChannelShutdownAsync(IChannel channel)
    {
        // A channel replaced already has had its generation ended by whoever replaced it.
        if (ReferenceEquals(channel, _channel))
        {
            EndGeneration();
        }

        return Task.CompletedTask;
    }

    private Task OnReceivedAsync(object sender, BasicDeliverEventArgs args)
    {
        var channel = ((AsyncEventingBasicConsumer)sender).Channel;
        if (!channel.IsOpen)
        {
            // Dispatched after its channel went down: its tag is dead and the server returns the message.
            return Task.CompletedTask;
        }

        var generation = Volatile.Read(ref _generation);
        var properties = args.BasicProperties;
        var body = args.Body.ToArray(); // the client reuses its buffer once this handler returns
        var messageId = properties.MessageId ?? string.Empty;
        if (MessageHeaders.ReadLong(properties, MessageHeaders.NotBefore) is { } notBeforeMs)
        {
            var notBefore = DateTimeOffset.FromUnixTimeMilliseconds(notBeforeMs);
            if (notBefore > _time.GetUtcNow())
            {
                _ = SendRoundAgainAsync(channel, args.DeliveryTag, generation, new OutgoingMessage(messageId, Queue, body, notBefore));
                return Task.CompletedTask;
            }
        }

        // Quorum queues count returns; a classic queue only flags a redelivery.
        var returns = MessageHeaders.ReadLong(properties, MessageHeaders.DeliveryCount) ?? (args.Redelivered ? 1 : 0);
        var deliveryCount = (int)Math.Min(int.MaxValue - 1, Math.Max(0, returns)) + 1;
        Interlocked.Increment(ref _buffered);
        _buffer.Writer.TryWrite(new Incoming(channel, args.DeliveryTag, generation, messageId, body, deliveryCount));
        return Task.CompletedTask;
    }

    /// <summary>
    /// A delayed message came back before its start time: its delay was longer than one pass through the
    /// delay queues, or the clocks of publisher and consumer differ. It goes round again for what is left.
    /// </summary>
    private async Task SendRoundAgainAsync(IChannel channel, ulong deliveryTag, int generation, OutgoingMessage message)
    {
        try
        {
            await _publisher.PublishAsync([message], CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever failed, the message stays in the queue and is tried again after a pause.
        catch (Exception)
#pragma warning restore CA1031
        {
            await Task.Delay(HopRetryDelay, _time).ConfigureAwait(false);
            if (generation == Volatile.Read(ref _generation))
            {
                await NackQuietlyAsync(channel, deliveryTag).ConfigureAwait(false);
            }

            return;
        }

        if (generation == Volatile.Read(ref _generation))
        {
            try
            {
                await channel.BasicAckAsync(deliveryTag, multiple: false).ConfigureAwait(false);
            }
            catch (Exception ex) when (ConnectionHolder.IsConnectivityFailure(ex))
            {
                // The copy is stored; the original comes back and goes round once more.
            }
        }
    }

    private sealed record Incoming(IChannel? Channel, ulong DeliveryTag, int Generation, string MessageId, byte[] Body, int DeliveryCount)
    {
        /// <summary>Of no generation, so that no receiver ever leases it.</summary>
        public static readonly Incoming Wake = new(null, 0, -1, string.Empty, [], 0);
    }
}
