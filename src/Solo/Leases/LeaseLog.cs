using Microsoft.Extensions.Logging;

namespace Solo.Leases;

/// <summary>What the lease component and the processor log about leases, with event ids operators can filter on.</summary>
internal static partial class LeaseLog
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Message {MessageId} of queue {Queue} may have lost its lease (no renewal confirmed in time); its task is cancelled and it touches nothing more")]
    public static partial void LeaseRanOut(ILogger logger, string messageId, string queue);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Renewing the {What} lease of message {MessageId} failed; the lease holds until its deadline")]
    public static partial void RenewalFailed(ILogger logger, Exception exception, string what, string messageId);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "The {What} lease of message {MessageId} was refused on renewal: another copy holds it now")]
    public static partial void RenewalRefused(ILogger logger, string what, string messageId);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Task {TaskId} ({Task}) of key {Key} lost its lease {Stage}; this copy abandons it quietly, its redelivery owns it now")]
    public static partial void Abandoned(ILogger logger, string taskId, string task, string? key, string stage);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Task {TaskId} ({Task}) of key {Key} ran to its end after its lease was lost; it is neither acked nor released over the live copy")]
    public static partial void CompletedAfterLeaseLost(ILogger logger, string taskId, string task, string? key);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "Message {MessageId} lost its lease while it waited for a free runner; it is left to its redelivery")]
    public static partial void LostWhileWaiting(ILogger logger, string messageId);
}
