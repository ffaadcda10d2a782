namespace Solo.Brokers;

/// <summary>A message to publish.</summary>
/// <param name="Id">A unique id; Solo uses the task id.</param>
/// <param name="Queue">The queue to publish to.</param>
/// <param name="Body">The payload (Solo's envelope).</param>
/// <param name="NotBefore">When set and in the future, the message is not delivered before then.</param>
public sealed record OutgoingMessage(string Id, string Queue, ReadOnlyMemory<byte> Body, DateTimeOffset? NotBefore = null);
