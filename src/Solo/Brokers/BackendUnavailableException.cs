namespace Solo;

/// <summary>
/// Thrown by a backend (broker or lock store) when its server cannot be reached within the configured
/// timeout. Nothing was stored: an enqueue that throws it did not publish its task.
/// </summary>
public sealed class BackendUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="backend">Which server, e.g. <c>Redis 127.0.0.1:6379</c> or <c>RabbitMQ amqp://127.0.0.1:5672/</c> (no credentials).</param>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The client library's error.</param>
    public BackendUnavailableException(string backend, string message, Exception? innerException = null)
        : base($"{backend} is unavailable: {message}", innerException)
    {
        Backend = backend;
    }

    /// <summary>Which server could not be reached.</summary>
    public string Backend { get; }
}
