namespace Solo;

/// <summary>A task about to be published.</summary>
/// <param name="TaskId">The new task's id.</param>
/// <param name="TaskName">The registered name.</param>
/// <param name="Queue">The queue it goes to.</param>
/// <param name="Args">Its arguments.</param>
/// <param name="UniqueKey">Its unique key, or null.</param>
/// <param name="NotBefore">Its start time, or null for now.</param>
public sealed record PublishContext(string TaskId, string TaskName, string Queue, object Args, string? UniqueKey, DateTimeOffset? NotBefore);
