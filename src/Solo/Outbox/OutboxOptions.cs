namespace Solo.Outbox;

/// <summary>How the outbox relay of this process publishes committed outbox messages.</summary>
public sealed class OutboxOptions
{
    /// <summary>
    /// How often the relay looks for messages that no signal announced: those left by a process that died
    /// after its commit, or written by another process without cross-process signals. Default 1 s.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most messages one claim takes. Default 100.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// The longest wait between two tries while the broker, the lock store or the database is down (the
    /// wait doubles from 50 ms up to this). Default 5 s.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Runs the relay in this process. Default true; turn it off in processes that only enqueue.</summary>
    public bool RunRelay { get; set; } = true;

    internal void Validate()
    {
        if (PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"OutboxOptions.PollInterval must be positive; it is {PollInterval}.");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentException($"OutboxOptions.BatchSize must be at least 1; it is {BatchSize}.");
        }

        if (MaxRetryDelay <= TimeSpan.Zero)
        {
            throw new ArgumentException($"OutboxOptions.MaxRetryDelay must be positive; it is {MaxRetryDelay}.");
        }
    }
}
