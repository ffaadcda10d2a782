namespace Solo.RabbitMQ;

/// <summary>
/// Settings of a <see cref="RabbitMQBroker"/>. Every process that shares work must point at the same
/// server and virtual host and use the same <see cref="DelayResolution"/>; the other settings are per process.
/// </summary>
public sealed class RabbitMQBrokerOptions
{
    /// <summary>
    /// The server, as an AMQP URI: <c>amqp://user:password@host:port/vhost</c>. Credentials may be in it;
    /// they never appear in errors or logs. Default <c>amqp://127.0.0.1:5672/</c> (user guest, which
    /// RabbitMQ accepts from loopback only).
    /// </summary>
    public Uri Uri { get; set; } = new("amqp://127.0.0.1:5672/");

    /// <summary>
    /// How long a received message stays leased to its receiver before it is returned to its queue,
    /// unless it is settled or renewed first. A receiver whose connection dies loses its leases at once:
    /// the server returns its messages. Must be positive. Default 30 s.
    /// </summary>
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many messages of one queue the server sends this broker ahead of its receivers (AMQP
    /// <c>basic.qos</c> per consumer). It bounds what this process holds per queue, prefetched plus leased:
    /// set it at least to the worker's concurrency plus its prefetch, or leased tasks starve the buffer.
    /// Between 1 and 65535. Default 64.
    /// </summary>
    public int PrefetchCount { get; set; } = 64;

    /// <summary>
    /// How long an operation waits for the server, to connect or reconnect and to confirm a publish, before
    /// it fails with <see cref="BackendUnavailableException"/>. Zero fails at once while the server is
    /// unreachable. Must not be negative. Default 5 s.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the client waits between attempts to reconnect after it lost its connection; consumers
    /// resume by themselves once it is back. Must be positive. Default 2 s.
    /// </summary>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The unit of delayed delivery. A delay is rounded up to a whole number of units, so a message
    /// arrives at most one unit (plus the broker's own latency) after its start time, never before it. The
    /// name of each delay queue holds its TTL, so changing this later creates new delay queues beside the
    /// old ones, which still drain. Whole milliseconds, at least 10 ms. Default 100 ms.
    /// </summary>
    public TimeSpan DelayResolution { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How many delay queues each queue has; level <c>i</c> holds messages for
    /// <see cref="DelayResolution"/> × 2^i, so one pass covers up to (2^levels − 1) units. A longer delay
    /// takes several passes: a message that arrives before its start time is sent through the delay queues
    /// again. Between 1 and 30. Default 20 (about 29 hours at 100 ms).
    /// </summary>
    public int DelayLevels { get; set; } = 20;

    /// <summary>The name this process's connections show in the management tools, with a suffix per role. Default <c>solo</c>.</summary>
    public string ConnectionName { get; set; } = "solo";

    /// <summary>A copy, so later changes to this instance do not reach a broker that already read it.</summary>
    internal RabbitMQBrokerOptions Clone() => new()
    {
        Uri = Uri,
        DeliveryLease = DeliveryLease,
        PrefetchCount = PrefetchCount,
        OperationTimeout = OperationTimeout,
        RecoveryInterval = RecoveryInterval,
        DelayResolution = DelayResolution,
        DelayLevels = DelayLevels,
        ConnectionName = ConnectionName,
    };

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    internal void Validate(string paramName)
    {
        if (Uri is null || !Uri.IsAbsoluteUri || (Uri.Scheme != "amqp" && Uri.Scheme != "amqps"))
        {
            throw new ArgumentException("RabbitMQBrokerOptions.Uri must be an absolute amqp:// or amqps:// URI.", paramName);
        }

        if (DeliveryLease <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, DeliveryLease, "RabbitMQBrokerOptions.DeliveryLease must be positive.");
        }

        if (PrefetchCount is < 1 or > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, PrefetchCount, "RabbitMQBrokerOptions.PrefetchCount must be between 1 and 65535.");
        }

        if (OperationTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, OperationTimeout, "RabbitMQBrokerOptions.OperationTimeout must not be negative.");
        }

        if (RecoveryInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, RecoveryInterval, "RabbitMQBrokerOptions.RecoveryInterval must be positive.");
        }

        if (DelayResolution < TimeSpan.FromMilliseconds(10) || DelayResolution.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentOutOfRangeException(paramName, DelayResolution, "RabbitMQBrokerOptions.DelayResolution must be whole milliseconds, at least 10 ms.");
        }

        if (DelayLevels is < 1 or > 30)
        {
            throw new ArgumentOutOfRangeException(paramName, DelayLevels, "RabbitMQBrokerOptions.DelayLevels must be between 1 and 30.");
        }

        // The longest TTL must fit RabbitMQ's x-message-ttl, a 32-bit count of milliseconds.
        if ((long)DelayResolution.TotalMilliseconds << (DelayLevels - 1) > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, DelayLevels, "RabbitMQBrokerOptions: DelayResolution × 2^(DelayLevels − 1) must be at most int.MaxValue milliseconds (about 24.8 days).");
        }

        if (string.IsNullOrWhiteSpace(ConnectionName))
        {
            throw new ArgumentException("RabbitMQBrokerOptions.ConnectionName must not be empty.", paramName);
        }
    }
}
