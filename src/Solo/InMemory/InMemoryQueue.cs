using Solo.Brokers;

namespace Solo.InMemory;

/// <summary>
/// The state of one queue of an <see cref="InMemoryBroker"/>. Not thread-safe: every member is used
/// under the broker's lock.
/// </summary>
/// <remarks>
/// Ready messages wait in a FIFO queue; messages waiting for their start time and leases waiting for
/// their end sit in heaps, so receiving costs O(log n) per message however many wait. Settling or
/// renewing a delivery leaves its old heap entry behind instead of searching for it; such entries are
/// recognised by their lease id and end, skipped when they surface and dropped in bulk when they pile up.
/// </remarks>
internal sealed class InMemoryQueue(string name)
{
    // Below this many stale lease entries the heap is not worth rebuilding.
    private const int StaleLeaseSlack = 64;

    private readonly Queue<Message> _ready = new();
    private readonly PriorityQueue<Message, (DateTimeOffset Due, long Sequence)> _scheduled = new();
    private readonly PriorityQueue<(Message Message, long Lease), (DateTimeOffset Ends, long Lease)> _leases = new();
    private readonly List<DeadLetter> _deadLetters = [];
    private TaskCompletionSource? _changed;

    public string Name { get; } = name;

    public int InFlight { get; private set; }

    /// <summary>Lease heap entries, live and stale; exposed so tests can see that stale ones are dropped.</summary>
    public int LeaseEntries => _leases.Count;

    /// <summary>Stores a message, ready now or scheduled for <paramref name="due"/>.</summary>
    public void Add(Message message, DateTimeOffset due, DateTimeOffset now)
    {
        if (due > now)
        {
            _scheduled.Enqueue(message, (due, message.Sequence));
        }
        else
        {
            _ready.Enqueue(message);
        }
    }

    /// <summary>
    /// Moves the scheduled messages that are due and the leased messages whose lease ended to the ready
    /// queue, in the order in which that happened.
    /// </summary>
    public void Promote(DateTimeOffset now)
    {
        while (true)
        {
            DropStaleLeaseTops();
            var scheduledDue = _scheduled.TryPeek(out _, out var s) && s.Due <= now;
            var leaseEnded = _leases.TryPeek(out _, out var l) && l.Ends <= now;
            if (!scheduledDue && !leaseEnded)
            {
                return;
            }

            if (scheduledDue && (!leaseEnded || s.Due <= l.Ends))
            {
                _ready.Enqueue(_scheduled.Dequeue());
            }
            else
            {
                var (message, _) = _leases.Dequeue();
                message.Lease = 0;
                InFlight--;
                _ready.Enqueue(message);
            }
        }
    }

    /// <summary>Leases up to <paramref name="max"/> ready messages; call <see cref="Promote"/> first.</summary>
    public void Take(int max, DateTimeOffset leaseEnds, Func<long> nextLease, List<Message> taken)
    {
        while (taken.Count < max && _ready.TryDequeue(out var message))
        {
            message.Lease = nextLease();
            message.LeaseEnds = leaseEnds;
            message.DeliveryCount++;
            _leases.Enqueue((message, message.Lease), (leaseEnds, message.Lease));
            InFlight++;
            taken.Add(message);
        }
    }

    /// <summary>True while <paramref name="lease"/> is the message's current, unexpired lease.</summary>
    public static bool Holds(Message message, long lease, DateTimeOffset now) =>
        message.Lease == lease && message.LeaseEnds > now;

    /// <summary>Ends the current lease of a message being settled; call only when <see cref="Holds"/>.</summary>
    public void EndLease(Message message)
    {
        message.Lease = 0;
        InFlight--;
        CompactLeasesIfStale();
    }

    /// <summary>Moves the current lease of a message to <paramref name="ends"/>; call only when <see cref="Holds"/>.</summary>
    public void ExtendLease(Message message, DateTimeOffset ends)
    {
        if (ends == message.LeaseEnds)
        {
            return;
        }

        message.LeaseEnds = ends;
        _leases.Enqueue((message, message.Lease), (ends, message.Lease));
        CompactLeasesIfStale();
    }

    public void AddDeadLetter(DeadLetter deadLetter) => _deadLetters.Add(deadLetter);

    public DeadLetter[] ReadDeadLetters(int max) => _deadLetters.Take(max).ToArray();

    /// <summary>Counts by state; call <see cref="Promote"/> first.</summary>
    public QueueCounts Counts() => new(_ready.Count, _scheduled.Count, InFlight, _deadLetters.Count);

    public bool HasReady => _ready.Count > 0;

    /// <summary>
    /// The earliest time at which a message may become ready without a publish: the first start time or
    /// lease end. It may be early (a stale lease entry), which only costs a receiver a spurious look.
    /// </summary>
    public DateTimeOffset? NextChange()
    {
        DateTimeOffset? next = null;
        if (_scheduled.TryPeek(out _, out var s))
        {
            next = s.Due;
        }

        if (_leases.TryPeek(out _, out var l) && (next is null || l.Ends < next))
        {
            next = l.Ends;
        }

        return next;
    }

    /// <summary>The task that completes on the next <see cref="TakeChangeSignal"/>.</summary>
    public Task WhenChanged()
    {
        _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _changed.Task;
    }

    /// <summary>
    /// Detaches the signal of waiting receivers; the caller completes it after leaving the lock, so that
    /// woken receivers do not queue up on the lock it still holds.
    /// </summary>
    public TaskCompletionSource? TakeChangeSignal()
    {
        var signal = _changed;
        _changed = null;
        return signal;
    }

    private static bool IsCurrent((Message Message, long Lease) entry, DateTimeOffset ends) =>
        entry.Message.Lease == entry.Lease && entry.Message.LeaseEnds == ends;

    private void DropStaleLeaseTops()
    {
        while (_leases.TryPeek(out var entry, out var priority) && !IsCurrent(entry, priority.Ends))
        {
            _leases.Dequeue();
        }
    }

    private void CompactLeasesIfStale()
    {
        // Rebuilding costs O(live + stale) and happens only after as many settles or renewals as there
        // are live leases (plus the slack), so it is O(1) per operation over time.
        if (_leases.Count <= (2 * InFlight) + StaleLeaseSlack)
        {
            return;
        }

        var live = _leases.UnorderedItems.Where(item => IsCurrent(item.Element, item.Priority.Ends)).ToList();
        _leases.Clear();
        _leases.EnqueueRange(live);
    }

    /// <summary>A stored message. Mutable, guarded by the broker's lock.</summary>
    internal sealed class Message(string id, ReadOnlyMemory<byte> body, long sequence)
    {
        public string Id { get; } = id;

        public ReadOnlyMemory<byte> Body { get; } = body;

        /// <summary>Publish order: breaks ties between messages due at the same time.</summary>
        public long Sequence { get; } = sequence;

        public int DeliveryCount { get; set; }

        /// <summary>The id of the current lease; 0 when the message is not leased.</summary>
        public long Lease { get; set; }

        public DateTimeOffset LeaseEnds { get; set; }
    }
}
