namespace Solo.Outbox;

/// <summary>
/// One enqueue waiting in the outbox: everything the relay needs to decide uniqueness and publish it, as
/// the enqueue saw it. The task id is chosen at enqueue, so publishing the message again after a crash
/// re-takes the same slot instead of a second one.
/// </summary>
/// <param name="TaskId">The id the task will have.</param>
/// <param name="Task">The registered task name.</param>
/// <param name="Queue">The queue to publish to.</param>
/// <param name="Args">The arguments, as JSON.</param>
/// <param name="UniqueKey">The unique key, for a unique task.</param>
/// <param name="NotBefore">The earliest start, for a delayed task.</param>
/// <param name="EnqueuedAt">When the app enqueued it.</param>
public sealed record OutboxMessage(
    string TaskId,
    string Task,
    string Queue,
    string Args,
    string? UniqueKey,
    DateTimeOffset? NotBefore,
    DateTimeOffset EnqueuedAt);
