using Microsoft.Extensions.Logging;
using Solo.Brokers;

namespace Solo.Leases;

/// <summary>
/// What one delivery holds: the broker's lease on the message and, once its task started, the lease on
/// its unique slot. Both are renewed by one loop, and both are judged on the monotonic clock from the
/// moment <em>before</em> the call that took or renewed them was sent, less a margin, so this side always
/// gives a lease up before the broker or the lock store can give it to anyone else.
/// </summary>
/// <remarks>
/// <see cref="Lost"/> fires by a timer at the end of the shorter lease unless a renewal confirmed it in
/// time, not at the next renewal tick. <see cref="IsHeld"/> checked <em>after</em> a call returns proves
/// that the call ran while the lease was held: a stale copy that passes that check cannot have overlapped
/// its redelivery.
/// </remarks>
internal sealed class TaskLease : IAsyncDisposable
{
    private static readonly TimeSpan MinimumRenewalDelay = TimeSpan.FromMilliseconds(10);

    private readonly LeaseMonitor _monitor;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _deadline;
    private readonly Lock _gate = new();
    private readonly TimeSpan? _deliveryLease;
    private long _deliveryValidUntil;
    private long _slotValidUntil = long.MaxValue;
    private SlotRenewal? _slot;
    private Task? _renewing;
    private int _disposed;

    internal TaskLease(LeaseMonitor monitor, IDelivery delivery, long receiveSentAt, TimeSpan? deliveryLease, TimeProvider time, ILogger logger)
    {
        _monitor = monitor;
        Delivery = delivery;
        _time = time;
        _logger = logger;
        _deliveryLease = deliveryLease;
        _deliveryValidUntil = deliveryLease is { } lease ? ValidUntil(receiveSentAt, lease) : long.MaxValue;
        _deadline = time.CreateTimer(static state => ((TaskLease)state!).CheckDeadline(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        ScheduleDeadline();
    }

    /// <summary>The message this lease is on.</summary>
    public IDelivery Delivery { get; }

    /// <summary>Fires when either lease may have ended: the task must stop, and this copy must touch nothing more.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True while both leases are surely held (on the monotonic clock, with the margin).</summary>
    public bool IsHeld => !_lost.IsCancellationRequested && _time.GetTimestamp() < Math.Min(Volatile.Read(ref _deliveryValidUntil), Volatile.Read(ref _slotValidUntil));

    /// <summary>Starts the renewal loop (the delivery alone until <see cref="AttachSlot"/>).</summary>
    internal void Start() => _renewing = RenewLoopAsync(_stop.Token);

    /// <summary>
    /// Adds the unique slot the task took at start to what is renewed and judged.
    /// </summary>
    /// <param name="ttl">The slot's TTL, set again by every renewal.</param>
    /// <param name="sentAt">The monotonic timestamp taken before the call that took the slot was sent.</param>
    /// <param name="renew">Renews the slot (owner and fencing token checked); false when it was lost.</param>
    public void AttachSlot(TimeSpan ttl, long sentAt, Func<TimeSpan, CancellationToken, ValueTask<bool>> renew)
    {
        lock (_gate)
        {
            _slot = new SlotRenewal(ttl, renew);
            Volatile.Write(ref _slotValidUntil, ValidUntil(sentAt, ttl));
        }

        ScheduleDeadline();
    }

    /// <summary>
    /// Stops renewing, before the copy settles by itself (a renewal racing its release would find the slot
    /// gone). The deadlines stay: <see cref="IsHeld"/> keeps judging the leases as last confirmed.
    /// </summary>
    public async Task StopRenewingAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_renewing is not null)
        {
            await _renewing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Marks the lease lost for good (a renewal answered that it is gone).</summary>
    private void MarkLost() => _lost.Cancel();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _monitor.Forget(this);
        await StopRenewingAsync().ConfigureAwait(false);

        await _deadline.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _lost.Dispose();
    }

    private long ValidUntil(long sentAt, TimeSpan lease)
    {
        var usable = lease - LeaseMonitor.Margin(lease);
        return sentAt + (long)(usable.TotalSeconds * _time.TimestampFrequency);
    }

    private void ScheduleDeadline()
    {
        var until = Math.Min(Volatile.Read(ref _deliveryValidUntil), Volatile.Read(ref _slotValidUntil));
        if (until == long.MaxValue || _lost.IsCancellationRequested)
        {
            return;
        }

        var remaining = _time.GetElapsedTime(_time.GetTimestamp(), until);
        try
        {
            _deadline.Change(remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void CheckDeadline()
    {
        if (Volatile.Read(ref _disposed) == 1 || _lost.IsCancellationRequested)
        {
            return;
        }

        if (IsHeld)
        {
            // A renewal moved the end while this timer was on its way.
            ScheduleDeadline();
            return;
        }

        LeaseLog.LeaseRanOut(_logger, Delivery.MessageId, Delivery.Queue);
        try
        {
            _lost.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task RenewLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested && !_lost.IsCancellationRequested)
        {
            SlotRenewal? slot;
            lock (_gate)
            {
                slot = _slot;
            }

            await Task.Delay(NextRenewal(slot), _time, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stop.IsCancellationRequested)
            {
                return;
            }

            if (_deliveryLease is { } deliveryLease)
            {
                var until = await RenewAsync(ct => Delivery.RenewAsync(ct), deliveryLease, "delivery", stop).ConfigureAwait(false);
                if (until is null)
                {
                    return;
                }

                Extend(ref _deliveryValidUntil, until.Value);
            }

            lock (_gate)
            {
                slot = _slot;
            }

            if (slot is not null)
            {
                var until = await RenewAsync(ct => slot.Renew(slot.Ttl, ct), slot.Ttl, "slot", stop).ConfigureAwait(false);
                if (until is null)
                {
                    return;
                }

                Extend(ref _slotValidUntil, until.Value);
            }

            ScheduleDeadline();
        }
    }

    /// <summary>
    /// The usual period, or half the time left to the nearer deadline when that is sooner: a lease judged from
    /// before a receive that waited for its message starts short, and a renewal that failed leaves less time,
    /// so the next try comes while one more can still land.
    /// </summary>
    private TimeSpan NextRenewal(SlotRenewal? slot)
    {
        var period = _monitor.PeriodFor(slot?.Ttl);
        var until = Math.Min(Volatile.Read(ref _deliveryValidUntil), Volatile.Read(ref _slotValidUntil));
        if (until == long.MaxValue)
        {
            return period;
        }

        var half = _time.GetElapsedTime(_time.GetTimestamp(), until) / 2;
        return half < period ? (half > MinimumRenewalDelay ? half : MinimumRenewalDelay) : period;
    }

    /// <summary>Moves a deadline forward, never back: a slow reply must not shorten what a later one confirmed.</summary>
    private static void Extend(ref long validUntil, long until)
    {
        long seen;
        do
        {
            seen = Volatile.Read(ref validUntil);
            if (until <= seen)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref validUntil, until, seen) != seen);
    }

    /// <summary>
    /// One renewal. Returns the new deadline; <see cref="long.MinValue"/> when it failed without an answer
    /// (the deadline stays where it was); null when the lease is surely gone or the loop stops.
    /// </summary>
    private async Task<long?> RenewAsync(Func<CancellationToken, ValueTask<bool>> renew, TimeSpan lease, string what, CancellationToken stop)
    {
        var sentAt = _time.GetTimestamp();
        bool renewed;
        try
        {
            renewed = await renew(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return null;
        }
#pragma warning disable CA1031 // Unknown: the store may be briefly away. Only the deadline or a "no" ends the lease.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LeaseLog.RenewalFailed(_logger, ex, what, Delivery.MessageId);
            return long.MinValue;
        }

        if (!renewed)
        {
            LeaseLog.RenewalRefused(_logger, what, Delivery.MessageId);
            MarkLost();
            return null;
        }

        return ValidUntil(sentAt, lease);
    }

    private sealed record SlotRenewal(TimeSpan Ttl, Func<TimeSpan, CancellationToken, ValueTask<bool>> Renew);
}
