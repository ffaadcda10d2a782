using Solo.Brokers;

namespace Solo.Shared;

/// <summary>
/// The argument checks of <see cref="IBroker"/> that every broker makes alike, shared as source so that each
/// backend keeps them internal.
/// </summary>
internal static class BrokerArguments
{
    /// <summary>A message to publish or requeue: present, with an id and a queue.</summary>
    public static void ValidateMessage(OutgoingMessage? message, string paramName)
    {
        if (message is null)
        {
            throw new ArgumentNullException(paramName, "A message is null.");
        }

        if (string.IsNullOrEmpty(message.Id) || string.IsNullOrEmpty(message.Queue))
        {
            throw new ArgumentException("A message needs an id and a queue.", paramName);
        }
    }

    /// <summary>How long a receive waits: not negative, or <see cref="Timeout.InfiniteTimeSpan"/>.</summary>
    public static void ValidateWait(TimeSpan wait)
    {
        if (wait < TimeSpan.Zero && wait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(wait), wait, "The wait must not be negative, or must be Timeout.InfiniteTimeSpan.");
        }
    }
}
