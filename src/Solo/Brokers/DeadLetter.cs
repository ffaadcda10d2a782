namespace Solo.Brokers;

/// <summary>A message that was taken out of its queue, with the reason why.</summary>
/// <param name="MessageId">The id it was published with.</param>
/// <param name="Queue">The queue it came from.</param>
/// <param name="Body">Its payload, unchanged.</param>
/// <param name="Reason">Why it was dead-lettered.</param>
/// <param name="DeadLetteredAt">When.</param>
public sealed record DeadLetter(string MessageId, string Queue, ReadOnlyMemory<byte> Body, string Reason, DateTimeOffset DeadLetteredAt);
