using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Solo.Brokers;
using Solo.Redis.Brokers;
using Solo.Redis.Connection;
using Solo.Shared;
using StackExchange.Redis;

namespace Solo.Redis;

/// <summary>
/// A broker on Redis Streams: one stream per queue read through one consumer group, with explicit
/// acknowledgement (acks-late). Each instance is one consumer of the group. Acked messages are deleted
/// from the stream, so a queue's stream holds only its ready and in-flight messages.
/// </summary>
/// <remarks>
/// <para>
/// A received message is leased for <see cref="RedisStreamsBrokerOptions.DeliveryLease"/>, measured by
/// Redis as the idle time of the group's pending entry. A receive takes over (<c>XAUTOCLAIM</c>) messages
/// whose lease ended, whichever consumer held them, so the messages of a killed process come back; their
/// <see cref="IDelivery.DeliveryCount"/> is the pending entry's delivery counter. Renewing resets the idle
/// time. A delivery whose lease ended, or that was settled or taken over, is stale: settling it does
/// nothing and renewing it returns false.
/// </para>
/// <para>
/// Delayed messages wait in a sorted set per queue and are moved into the stream by the receive that
/// finds them due, in the same script. Start times are compared with this broker's
/// <see cref="TimeProvider"/>, so processes that share work should have synchronised clocks. Dead letters go
/// to a stream per queue, which keeps them until you delete them.
/// </para>
/// <para>
/// Every operation is one script on the keys of one queue (all in one Redis Cluster hash slot), so it is
/// atomic: publishing a batch to one queue, receiving, acknowledging, requeueing (the replacement is stored
/// and the original removed together) and dead-lettering. A receive that waits polls every
/// <see cref="RedisStreamsBrokerOptions.PollInterval"/> and wakes at once on a publish by this instance.
/// While Redis cannot be reached, operations fail at once with <see cref="BackendUnavailableException"/>.
/// </para>
/// </remarks>
public sealed class RedisStreamsBroker : IBroker, IAsyncDisposable, IDisposable
{
    private readonly RedisBackend _backend;
    private readonly TimeProvider _time;
    private readonly RedisStreamsBrokerOptions _options;
    private readonly RedisValue _group;
    private readonly RedisValue _consumer;
    private readonly long _leaseMs;
    private readonly ConcurrentDictionary<string, StreamQueue> _queues = new(StringComparer.Ordinal);

    /// <summary>Creates a broker on a connection.</summary>
    /// <param name="connection">
    /// The connection; share one per server across the app, and dispose it yourself after the broker.
    /// Configure it with <c>AbortOnConnectFail = false</c> so that it reconnects by itself, and a fail-fast
    /// backlog policy so that calls fail at once while Redis is down (<c>UseRedis</c> does both).
    /// </param>
    /// <param name="timeProvider">The clock of start times, dead-letter times and receive waits.</param>
    /// <param name="options">Its settings, read once, here; null for the defaults.</param>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public RedisStreamsBroker(IConnectionMultiplexer connection, TimeProvider timeProvider, RedisStreamsBrokerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = (options ?? new RedisStreamsBrokerOptions()).Clone();
        _options.Validate(nameof(options));
        _backend = new RedisBackend(connection);
        _time = timeProvider;
        _group = _options.ConsumerGroup;
        ConsumerName = _options.ConsumerName ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
        _consumer = ConsumerName;
        _leaseMs = Math.Max(1, (long)Math.Ceiling(_options.DeliveryLease.TotalMilliseconds));
    }

    /// <summary>This instance's consumer name in the group.</summary>
    public string ConsumerName { get; }

    /// <inheritdoc />
    /// <remarks><see cref="RedisStreamsBrokerOptions.DeliveryLease"/>, measured by Redis.</remarks>
    public TimeSpan? DeliveryLease => _options.DeliveryLease;

    /// <inheritdoc />
    /// <remarks>
    /// One script per queue, all sent before the first reply is awaited (one round trip); the messages of
    /// one queue are stored together or not at all. Bodies are stored as given.
    /// </remarks>
    /// <exception cref="BackendUnavailableException">Redis could not be reached; the messages of some queues may be stored.</exception>
    public async ValueTask PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            BrokerArguments.ValidateMessage(message, nameof(messages));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (messages.Count == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var byQueue = new Dictionary<string, List<RedisValue>>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            if (!byQueue.TryGetValue(message.Queue, out var args))
            {
                args = [_group];
                byQueue.Add(message.Queue, args);
            }

            AddMessageArgs(args, message, now);
        }

        var sent = new List<(StreamQueue Queue, Task<RedisResult> Reply)>(byQueue.Count);
        foreach (var (name, args) in byQueue)
        {
            var queue = Queue(name);
            sent.Add((queue, _backend.EvaluateAsync(StreamScripts.Publish, [queue.Stream, queue.Delayed], args.ToArray())));
        }

        // All awaited together, so that a failure of one queue's script leaves no other unobserved.
        await Task.WhenAll(sent.Select(s => s.Reply)).ConfigureAwait(false);
        foreach (var (queue, _) in sent)
        {
            queue.SignalPublished();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Each look is one script: move due delayed messages in, take over expired leases, read new messages.
    /// <paramref name="wait"/> is measured on the broker's <see cref="TimeProvider"/>;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits until a message comes or the token is cancelled.
    /// </remarks>
    /// <exception cref="BackendUnavailableException">Redis could not be reached.</exception>
    public async ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        BrokerArguments.ValidateWait(wait);

        cancellationToken.ThrowIfCancellationRequested();
        var state = Queue(queue);
        await RemoveIdleConsumersIfDueAsync(state).ConfigureAwait(false);
        var start = _time.GetUtcNow();
        DateTimeOffset? deadline = wait == Timeout.InfiniteTimeSpan || wait >= DateTimeOffset.MaxValue - start ? null : start + wait;
        while (true)
        {
            // Taken before looking, so that a publish during the look still wakes the wait after it.
            var published = state.WhenPublished();
            var deliveries = await LookAsync(state, maxMessages).ConfigureAwait(false);
            if (deliveries.Count > 0)
            {
                // Returned even when cancelled meanwhile: dropping them would strand them until their lease ends.
                return deliveries;
            }

            var now = _time.GetUtcNow();
            if (deadline <= now)
            {
                return [];
            }

            var pause = deadline is { } end && end - now < _options.PollInterval ? end - now : _options.PollInterval;
            await Task.WhenAny(published, Task.Delay(pause, _time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Read in one script. <see cref="QueueCounts.InFlight"/> counts the group's pending entries, including
    /// those whose lease ended and that no receive has taken over yet.
    /// </remarks>
    /// <exception cref="BackendUnavailableException">Redis could not be reached.</exception>
    public async ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        cancellationToken.ThrowIfCancellationRequested();
        var state = Queue(queue);
        var reply = (RedisResult[])(await _backend.EvaluateAsync(StreamScripts.Counts, [state.Stream, state.Delayed, state.Dead], [_group]).ConfigureAwait(false))!;
        return new QueueCounts((long)reply[0], (long)reply[1], (long)reply[2], (long)reply[3]);
    }

    /// <inheritdoc />
    /// <exception cref="BackendUnavailableException">Redis could not be reached.</exception>
    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        cancellationToken.ThrowIfCancellationRequested();
        var state = Queue(queue);
        var entries = await _backend.RunAsync(db => db.StreamRangeAsync(state.Dead, "-", "+", maxMessages)).ConfigureAwait(false);
        var letters = new DeadLetter[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            var at = long.TryParse((string?)entry["t"], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : default;
            letters[i] = new DeadLetter((string?)entry["i"] ?? "", queue, (byte[]?)entry["b"] ?? [], (string?)entry["r"] ?? "", at);
        }

        return letters;
    }

    /// <summary>
    /// Leaves the consumer group of every queue this instance used where it holds no message, so that
    /// consumers do not pile up across restarts. Best effort: when Redis cannot be reached, it stays.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var queue in _queues.Values)
        {
            try
            {
                await _backend.EvaluateAsync(StreamScripts.Leave, [queue.Stream], [_group, _consumer]).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is BackendUnavailableException or RedisException)
            {
                // Staying in the group is harmless: a consumer without messages costs a few bytes.
            }
        }
    }

    /// <summary>
    /// As <see cref="DisposeAsync"/>, without waiting: the requests to leave the groups are sent and not
    /// awaited.
    /// </summary>
    public void Dispose()
    {
        foreach (var queue in _queues.Values)
        {
            try
            {
                _backend.Database.ScriptEvaluate(StreamScripts.Leave, [queue.Stream], [_group, _consumer], CommandFlags.FireAndForget);
            }
            catch (RedisException)
            {
                // As in DisposeAsync: staying in the group is harmless.
            }
        }
    }

    internal async ValueTask AckAsync(RedisDelivery delivery, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await _backend.EvaluateAsync(StreamScripts.Ack, [delivery.StreamQueue.Stream], LeaseArgs(delivery)).ConfigureAwait(false);
    }

    internal async ValueTask RequeueAsync(RedisDelivery delivery, OutgoingMessage replacement, CancellationToken cancellationToken)
    {
        // Checked before anything changes, so that a bad replacement cannot cost the original.
        BrokerArguments.ValidateMessage(replacement, nameof(replacement));
        cancellationToken.ThrowIfCancellationRequested();
        var source = delivery.StreamQueue;
        var target = Queue(replacement.Queue);
        var args = new List<RedisValue>(LeaseArgs(delivery));
        AddMessageArgs(args, replacement, _time.GetUtcNow());
        if (_backend.SameSlot(source.Stream, target.Stream))
        {
            await _backend.EvaluateAsync(StreamScripts.Requeue, [source.Stream, target.Stream, target.Delayed], args.ToArray()).ConfigureAwait(false);
        }
        else
        {
            // Another queue in another cluster slot: no script can hold both, so store the replacement
            // first and remove the original second; a crash in between duplicates rather than loses it.
            if (!await RenewAsync(delivery, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            await _backend.EvaluateAsync(StreamScripts.Publish, [target.Stream, target.Delayed], [_group, .. args.Skip(5)]).ConfigureAwait(false);
            await AckAsync(delivery, CancellationToken.None).ConfigureAwait(false);
        }

        target.SignalPublished();
    }

    internal async ValueTask DeadLetterAsync(RedisDelivery delivery, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reason);
        cancellationToken.ThrowIfCancellationRequested();
        var queue = delivery.StreamQueue;
        var at = _time.GetUtcNow().ToUnixTimeMilliseconds();
        RedisValue[] args = [.. LeaseArgs(delivery), delivery.MessageId, delivery.Body, reason, at];
        await _backend.EvaluateAsync(StreamScripts.DeadLetter, [queue.Stream, queue.Dead], args).ConfigureAwait(false);
    }

    internal async ValueTask<bool> RenewAsync(RedisDelivery delivery, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reply = await _backend.EvaluateAsync(StreamScripts.Renew, [delivery.StreamQueue.Stream], LeaseArgs(delivery)).ConfigureAwait(false);
        return (long)reply == 1;
    }

    /// <summary>Appends (id, body, due ms or 0, delayed member) as the publish and requeue scripts read them.</summary>
    private static void AddMessageArgs(List<RedisValue> args, OutgoingMessage message, DateTimeOffset now)
    {
        if (message.NotBefore is { } due && due > now)
        {
            args.Add(message.Id);
            args.Add(RedisValue.EmptyString);
            args.Add(due.ToUnixTimeMilliseconds());
            args.Add(DelayedMember(message));
        }
        else
        {
            args.Add(message.Id);
            args.Add(message.Body);
            args.Add(0);
            args.Add(RedisValue.EmptyString);
        }
    }

    /// <summary>A nonce (so that equal messages stay two members), the id's byte length, a colon, the id, the body.</summary>
    private static byte[] DelayedMember(OutgoingMessage message)
    {
        var idLength = Encoding.UTF8.GetByteCount(message.Id);
        var header = string.Create(CultureInfo.InvariantCulture, $"{Guid.NewGuid():N}{idLength}:");
        var member = new byte[header.Length + idLength + message.Body.Length];
        var written = Encoding.ASCII.GetBytes(header, member);
        written += Encoding.UTF8.GetBytes(message.Id, member.AsSpan(written));
        message.Body.Span.CopyTo(member.AsSpan(written));
        return member;
    }

    private RedisValue[] LeaseArgs(RedisDelivery delivery) =>
        [_group, _consumer, delivery.EntryId, delivery.DeliveryCount, _leaseMs];

    /// <summary>
    /// Removes the group's consumers that hold no message and have been idle longer than
    /// <see cref="RedisStreamsBrokerOptions.IdleConsumerTimeout"/> (those of killed processes), at most once per
    /// half that time per queue. Each removal re-checks in one script that the consumer holds nothing, so a
    /// consumer that took a message meanwhile keeps it. Best effort: a failure waits for the next sweep.
    /// </summary>
    private async Task RemoveIdleConsumersIfDueAsync(StreamQueue queue)
    {
        if (!queue.TakeConsumerSweep(_time.GetTimestamp(), (long)(_options.IdleConsumerTimeout.TotalSeconds / 2 * _time.TimestampFrequency)))
        {
            return;
        }

        try
        {
            var consumers = await _backend.RunAsync(db => db.StreamConsumerInfoAsync(queue.Stream, _group)).ConfigureAwait(false);
            foreach (var consumer in consumers)
            {
                if (consumer.PendingMessageCount == 0 && consumer.IdleTimeInMilliseconds > _options.IdleConsumerTimeout.TotalMilliseconds && consumer.Name != ConsumerName)
                {
                    await _backend.EvaluateAsync(StreamScripts.Leave, [queue.Stream], [_group, consumer.Name]).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is BackendUnavailableException or RedisException)
        {
            // No stream or group yet, or Redis away: the consumers wait for the next sweep.
        }
    }

    private StreamQueue Queue(string name) => _queues.GetOrAdd(name, static (n, prefix) => new StreamQueue(prefix, n), _options.KeyPrefix);

    private async Task<IReadOnlyList<IDelivery>> LookAsync(StreamQueue queue, int maxMessages)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var reply = (RedisResult[])(await _backend.EvaluateAsync(
            StreamScripts.Receive,
            [queue.Stream, queue.Delayed],
            [_group, _consumer, maxMessages, now, _leaseMs, queue.ClaimCursor]).ConfigureAwait(false))!;
        queue.ClaimCursor = (string)reply[0]!;
        var flat = (RedisResult[])reply[1]!;
        if (flat.Length == 0)
        {
            return [];
        }

        var deliveries = new IDelivery[flat.Length / 4];
        for (var i = 0; i < deliveries.Length; i++)
        {
            var at = 4 * i;
            deliveries[i] = new RedisDelivery(this, queue, (string)flat[at]!, (string)flat[at + 1]!, (byte[])flat[at + 2]!, (int)flat[at + 3]);
        }

        return deliveries;
    }
}
