namespace Solo.Redis;

/// <summary>Settings of a <see cref="RedisStreamsBroker"/>.</summary>
public sealed class RedisStreamsBrokerOptions
{
    /// <summary>
    /// Put before the keys of every queue: queue <c>q</c> lives in <c>{prefix}{q}:s</c> (its stream),
    /// <c>:z</c> (delayed messages) and <c>:d</c> (dead letters); the braces are a Redis Cluster hash tag
    /// that keeps a queue's keys in one hash slot. Must not contain <c>{</c> or <c>}</c>. Every process
    /// that shares work must use the same prefix. Default <c>solo:</c>.
    /// </summary>
    public string KeyPrefix { get; set; } = "solo:";

    /// <summary>The consumer group every queue is read through; every process that shares work must use the same. Default <c>solo</c>.</summary>
    public string ConsumerGroup { get; set; } = "solo";

    /// <summary>
    /// This broker's consumer name within the group; must differ between broker instances. Default (null):
    /// the machine name, process id and a new GUID, so each instance is its own consumer.
    /// </summary>
    public string? ConsumerName { get; set; }

    /// <summary>
    /// How long a received message stays leased to its receiver before any receiver takes it over, unless it
    /// is settled or renewed first. It is measured by Redis (the pending entry's idle time), so it bounds how
    /// long a message held by a killed process waits. Every process that shares work should use the same.
    /// Must be positive. Default 30 s.
    /// </summary>
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a waiting receive looks for messages published by other processes, delayed messages that
    /// came due, and leases that ended. Publishes by this broker instance wake it at once. Must be positive.
    /// Default 20 ms.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// How long a consumer of the group must have been idle, holding no message, before a receiving instance
    /// removes it: the consumers of processes that were killed, which never left the group. A live consumer
    /// removed while idle rejoins by itself at its next receive. Default 1 h.
    /// </summary>
    public TimeSpan IdleConsumerTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A copy, so later changes to this instance do not reach a broker that already read it.</summary>
    internal RedisStreamsBrokerOptions Clone() => new()
    {
        KeyPrefix = KeyPrefix,
        ConsumerGroup = ConsumerGroup,
        ConsumerName = ConsumerName,
        DeliveryLease = DeliveryLease,
        PollInterval = PollInterval,
        IdleConsumerTimeout = IdleConsumerTimeout,
    };

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    internal void Validate(string paramName)
    {
        if (KeyPrefix is null || KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("RedisStreamsBrokerOptions.KeyPrefix must not be null or contain '{' or '}' (they would move the keys' hash tag).", paramName);
        }

        if (string.IsNullOrEmpty(ConsumerGroup))
        {
            throw new ArgumentException("RedisStreamsBrokerOptions.ConsumerGroup must not be empty.", paramName);
        }

        if (ConsumerName is not null && ConsumerName.Length == 0)
        {
            throw new ArgumentException("RedisStreamsBrokerOptions.ConsumerName must be null (generated) or not empty.", paramName);
        }

        if (DeliveryLease < TimeSpan.FromMilliseconds(1))
        {
            throw new ArgumentOutOfRangeException(paramName, DeliveryLease, "RedisStreamsBrokerOptions.DeliveryLease must be at least 1 ms.");
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, PollInterval, "RedisStreamsBrokerOptions.PollInterval must be positive.");
        }

        if (IdleConsumerTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(paramName, IdleConsumerTimeout, "RedisStreamsBrokerOptions.IdleConsumerTimeout must be at least 1 s.");
        }
    }
}
