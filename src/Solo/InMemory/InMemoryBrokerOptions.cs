namespace Solo.InMemory;

/// <summary>Settings of an <see cref="InMemoryBroker"/>.</summary>
public sealed class InMemoryBrokerOptions
{
    /// <summary>
    /// How long a received message stays leased to its receiver before the broker delivers it again,
    /// unless it is settled or renewed first. Must be positive. Default 30 s.
    /// </summary>
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromSeconds(30);
}
