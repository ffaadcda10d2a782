using System.Text;
using RabbitMQ.Client;

namespace Solo.RabbitMQ;

/// <summary>The AMQP headers Solo writes and reads, and how their values come back from the client.</summary>
internal static class MessageHeaders
{
    /// <summary>Start time of a delayed message, Unix milliseconds: a message that arrives before it is delayed again.</summary>
    public const string NotBefore = "solo-not-before";

    /// <summary>Why a message was dead-lettered.</summary>
    public const string Reason = "solo-reason";

    /// <summary>When it was dead-lettered, Unix milliseconds.</summary>
    public const string DeadLetteredAt = "solo-dead-lettered-at";

    /// <summary>Set by quorum queues: how many times the message was returned to the queue unsettled.</summary>
    public const string DeliveryCount = "x-delivery-count";

    /// <summary>Set by RabbitMQ on messages it dead-lettered itself (expired, rejected, delivery_limit).</summary>
    public const string FirstDeathReason = "x-first-death-reason";

    /// <summary>Set by RabbitMQ on dead-lettered messages: a list of tables, the latest first, each with a <c>time</c>.</summary>
    public const string Death = "x-death";

    public static long? ReadLong(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers is { } headers && headers.TryGetValue(name, out var value) ? AsLong(value) : null;

    public static string? ReadString(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers is { } headers && headers.TryGetValue(name, out var value) ? AsString(value) : null;

    /// <summary>The time of the latest x-death entry, when RabbitMQ dead-lettered the message itself.</summary>
    public static DateTimeOffset? ReadDeathTime(IReadOnlyBasicProperties properties)
    {
        if (properties.Headers is { } headers && headers.TryGetValue(Death, out var deaths)
            && deaths is IList<object> { Count: > 0 } list && list[0] is IDictionary<string, object?> latest
            && latest.TryGetValue("time", out var time) && time is AmqpTimestamp stamp)
        {
            return DateTimeOffset.FromUnixTimeSeconds(stamp.UnixTime);
        }

        return null;
    }

    private static long? AsLong(object? value) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        byte b => b,
        sbyte sb => sb,
        uint ui => ui,
        ushort us => us,
        ulong ul when ul <= long.MaxValue => (long)ul,
        _ => null,
    };

    // The client hands AMQP long strings back as bytes.
    private static string? AsString(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        _ => null,
    };
}
