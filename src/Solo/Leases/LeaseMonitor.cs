using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Solo.Brokers;

namespace Solo.Leases;

/// <summary>
/// The one place that knows how leases are kept in this worker: the renewal period, the safety margin,
/// and the registry of every delivery this process holds (waiting for a runner or running). Each
/// <see cref="TaskLease"/> renews itself on its own loop and fires its own "lost" token.
/// </summary>
internal sealed class LeaseMonitor(IBroker broker, IOptions<SoloWorkerOptions> options, TimeProvider time, ILogger<LeaseMonitor> logger)
{
    private readonly ConcurrentDictionary<TaskLease, byte> _leases = new();

    /// <summary>The leases held now, waiting or running.</summary>
    public ICollection<TaskLease> Leases => _leases.Keys;

    /// <summary>
    /// How much of a lease this side gives up early: a tenth, so that a deadline taken on this machine's
    /// monotonic clock from before the call still ends before the server's own, even on a clock that runs
    /// a little fast or a reply that was slow.
    /// </summary>
    public static TimeSpan Margin(TimeSpan lease) => lease / 10;

    /// <summary>Starts holding a delivery received by a call sent at <paramref name="receiveSentAt"/> (monotonic timestamp).</summary>
    public TaskLease Track(IDelivery delivery, long receiveSentAt)
    {
        var lease = new TaskLease(this, delivery, receiveSentAt, broker.DeliveryLease, time, logger);
        _leases.TryAdd(lease, 0);
        lease.Start();
        return lease;
    }

    /// <summary>
    /// Renew at a third of the shortest lease (and at least as often as
    /// <see cref="SoloWorkerOptions.DeliveryRenewInterval"/>), so that one late or failed renewal is survivable.
    /// </summary>
    public TimeSpan PeriodFor(TimeSpan? slotTtl)
    {
        var period = options.Value.DeliveryRenewInterval;
        if (broker.DeliveryLease is { } deliveryLease && deliveryLease / 3 < period)
        {
            period = deliveryLease / 3;
        }

        if (slotTtl is { } ttl && ttl / 3 < period)
        {
            period = ttl / 3;
        }

        return period;
    }

    internal void Forget(TaskLease lease) => _leases.TryRemove(lease, out _);
}
