namespace Solo.Worker;

/// <summary>
/// Exponential backoff with jitter, so that what fails together does not retry together: task retries,
/// and the worker's and the outbox relay's retries against a backend that is away.
/// </summary>
internal static class Backoff
{
    public static TimeSpan ForAttempt(int failedAttempt, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var exponent = Math.Min(failedAttempt - 1, 30);
        var ticks = Math.Min(baseDelay.Ticks * Math.Pow(2, exponent), maxDelay.Ticks);
        return Jitter(TimeSpan.FromTicks((long)ticks));
    }

    /// <summary>Spreads a delay over [0.8, 1.2] of itself.</summary>
    public static TimeSpan Jitter(TimeSpan delay) =>
        TimeSpan.FromTicks((long)(delay.Ticks * (0.8 + (Random.Shared.NextDouble() * 0.4))));
}
