namespace Solo.Messages;

/// <summary>A message read from the broker that is not a valid envelope; the message is the dead-letter reason.</summary>
internal sealed class InvalidEnvelopeException(string reason) : Exception(reason);
