namespace Solo;

/// <summary>What an enqueue did.</summary>
/// <param name="Outcome">Enqueued, Duplicate or Replaced.</param>
/// <param name="TaskId">The new task's id; for <see cref="EnqueueOutcome.Duplicate"/>, the id of the task that holds the key.</param>
/// <param name="UniqueKey">The unique key, or null for a task that is not unique.</param>
/// <param name="ReplacedTaskId">For <see cref="EnqueueOutcome.Replaced"/>, the id of the pending task that was replaced.</param>
public sealed record EnqueueResult(EnqueueOutcome Outcome, string TaskId, string? UniqueKey, string? ReplacedTaskId = null);
