using Solo.Brokers;
using Solo.Shared;

namespace Solo.InMemory;

/// <summary>
/// A broker that keeps its queues in the process's memory, for tests and for trying Solo out. It behaves
/// as the durable brokers do: FIFO queues, delayed delivery, deliveries leased to their receiver and
/// delivered again (with a higher <see cref="IDelivery.DeliveryCount"/>) when the lease ends unsettled,
/// and dead letters. Its messages are lost when the process ends.
/// </summary>
/// <remarks>
/// <para>
/// All time comes from the <see cref="TimeProvider"/>: start times, lease ends, dead-letter times and the
/// <c>wait</c> of <see cref="ReceiveAsync"/>. With a fake clock, a receive that finds nothing returns only
/// once the clock has been advanced past its wait (or its token is cancelled); pass
/// <see cref="TimeSpan.Zero"/> to look without waiting.
/// </para>
/// <para>
/// A delivery whose lease has ended, because it was settled or because its time ran out, is stale:
/// settling it again does nothing and renewing it returns false, even before the message is delivered
/// again. So a receiver that lost its lease can never ack, requeue or dead-letter the copy that another
/// receiver now holds.
/// </para>
/// </remarks>
public sealed class InMemoryBroker : IBroker
{
    // With a clock other than the system's (a fake one, usually), the clock may jump while a receiver sets up
    // its timer, which would then fire late; a short real-time look bounds that.
    private static readonly TimeSpan Backstop = TimeSpan.FromMilliseconds(50);

    // Timers cannot wait longer than ~49 days; a receiver that wakes up early just looks again.
    private static readonly TimeSpan LongestTimer = TimeSpan.FromDays(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, InMemoryQueue> _queues = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _lease;
    private readonly bool _needsBackstop;

    // One counter for publish order and lease ids, so that no lease id is ever handed out twice.
    private long _sequence;

    /// <summary>Creates a broker with the default <see cref="InMemoryBrokerOptions"/>.</summary>
    /// <param name="timeProvider">The clock of start times, leases and waits.</param>
    public InMemoryBroker(TimeProvider timeProvider)
        : this(timeProvider, new InMemoryBrokerOptions())
    {
    }

    /// <summary>Creates a broker.</summary>
    /// <param name="timeProvider">The clock of start times, leases and waits.</param>
    /// <param name="options">Its settings; read once, here.</param>
    public InMemoryBroker(TimeProvider timeProvider, InMemoryBrokerOptions options)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.DeliveryLease, TimeSpan.Zero, nameof(options));
        _time = timeProvider;
        _lease = options.DeliveryLease;
        _needsBackstop = !ReferenceEquals(timeProvider, TimeProvider.System);
    }

    /// <inheritdoc />
    public TimeSpan? DeliveryLease => _lease;

    /// <inheritdoc />
    /// <remarks>Stores all messages or, when one of them is invalid, none. Bodies are copied.</remarks>
    public ValueTask PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            BrokerArguments.ValidateMessage(message, nameof(messages));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var signals = new List<TaskCompletionSource>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var message in messages)
            {
                var queue = Store(message, now);
                if (queue.TakeChangeSignal() is { } signal)
                {
                    signals.Add(signal);
                }
            }
        }

        foreach (var signal in signals)
        {
            signal.TrySetResult();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="wait"/> is measured on the broker's <see cref="TimeProvider"/>;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits until a message comes or the token is cancelled.
    /// </remarks>
    public async ValueTask<IReadOnlyList<IDelivery>> ReceiveAsync(string queue, int maxMessages, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        BrokerArguments.ValidateWait(wait);

        cancellationToken.ThrowIfCancellationRequested();
        var start = _time.GetUtcNow();
        DateTimeOffset? deadline = wait == Timeout.InfiniteTimeSpan || wait >= DateTimeOffset.MaxValue - start ? null : start + wait;
        while (true)
        {
            Task changed;
            DateTimeOffset? wakeAt;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                var state = GetOrAddQueue(queue);
                state.Promote(now);
                if (state.HasReady)
                {
                    var taken = new List<InMemoryQueue.Message>(Math.Min(maxMessages, 64));
                    state.Take(maxMessages, now + _lease, () => ++_sequence, taken);
                    var deliveries = new IDelivery[taken.Count];
                    for (var i = 0; i < taken.Count; i++)
                    {
                        deliveries[i] = new InMemoryDelivery(this, state, taken[i], taken[i].Lease);
                    }

                    return deliveries;
                }

                if (deadline <= now)
                {
                    return [];
                }

                changed = state.WhenChanged();
                wakeAt = Earliest(deadline, state.NextChange());
            }

            await WaitAsync(changed, wakeAt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public ValueTask<QueueCounts> GetCountsAsync(string queue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_queues.TryGetValue(queue, out var state))
            {
                return ValueTask.FromResult(default(QueueCounts));
            }

            state.Promote(_time.GetUtcNow());
            return ValueTask.FromResult(state.Counts());
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            IReadOnlyList<DeadLetter> letters = _queues.TryGetValue(queue, out var state) ? state.ReadDeadLetters(maxMessages) : [];
            return ValueTask.FromResult(letters);
        }
    }

    /// <summary>Lease heap entries of a queue, live and stale, so tests can check that stale ones are dropped.</summary>
    internal int LeaseEntries(string queue)
    {
        lock (_gate)
        {
            return _queues.TryGetValue(queue, out var state) ? state.LeaseEntries : 0;
        }
    }

    internal void Ack(InMemoryQueue queue, InMemoryQueue.Message message, long lease)
    {
        lock (_gate)
        {
            if (InMemoryQueue.Holds(message, lease, _time.GetUtcNow()))
            {
                queue.EndLease(message);
            }
        }
    }

    internal void Requeue(InMemoryQueue queue, InMemoryQueue.Message message, long lease, OutgoingMessage replacement)
    {
        // Checked before anything changes, so that a bad replacement cannot cost the original.
        BrokerArguments.ValidateMessage(replacement, nameof(replacement));
        TaskCompletionSource? signal = null;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!InMemoryQueue.Holds(message, lease, now))
            {
                return;
            }

            queue.EndLease(message);
            signal = Store(replacement, now).TakeChangeSignal();
        }

        signal?.TrySetResult();
    }

    internal void DeadLetter(InMemoryQueue queue, InMemoryQueue.Message message, long lease, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!InMemoryQueue.Holds(message, lease, now))
            {
                return;
            }

            queue.EndLease(message);
            queue.AddDeadLetter(new DeadLetter(message.Id, queue.Name, message.Body, reason, now));
        }
    }

    internal bool Renew(InMemoryQueue queue, InMemoryQueue.Message message, long lease)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!InMemoryQueue.Holds(message, lease, now))
            {
                return false;
            }

            queue.ExtendLease(message, now + _lease);
            return true;
        }
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a < b ? a : b;

    private InMemoryQueue Store(OutgoingMessage message, DateTimeOffset now)
    {
        var queue = GetOrAddQueue(message.Queue);
        // Copied, as a real broker would, so the publisher may reuse its buffer.
        var stored = new InMemoryQueue.Message(message.Id, message.Body.ToArray(), ++_sequence);
        queue.Add(stored, message.NotBefore ?? now, now);
        return queue;
    }

    private InMemoryQueue GetOrAddQueue(string name)
    {
        if (!_queues.TryGetValue(name, out var queue))
        {
            queue = new InMemoryQueue(name);
            _queues.Add(name, queue);
        }

        return queue;
    }

    /// <summary>
    /// Waits until the queue changed, the clock reached <paramref name="wakeAt"/>, the backstop fired or the
    /// token was cancelled; the caller then looks again.
    /// </summary>
    private async Task WaitAsync(Task changed, DateTimeOffset? wakeAt, CancellationToken cancellationToken)
    {
        var delay = Timeout.InfiniteTimeSpan;
        if (wakeAt is { } at)
        {
            delay = at - _time.GetUtcNow();
            if (delay <= TimeSpan.Zero)
            {
                return;
            }

            if (delay > LongestTimer)
            {
                delay = LongestTimer;
            }
        }

        var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetResult(), wake))
        using (delay == Timeout.InfiniteTimeSpan ? null : _time.CreateTimer(static state => ((TaskCompletionSource)state!).TrySetResult(), wake, delay, Timeout.InfiniteTimeSpan))
        using (_needsBackstop ? TimeProvider.System.CreateTimer(static state => ((TaskCompletionSource)state!).TrySetResult(), wake, Backstop, Timeout.InfiniteTimeSpan) : null)
        {
            await Task.WhenAny(changed, wake.Task).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}
