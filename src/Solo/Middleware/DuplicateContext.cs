namespace Solo;

/// <summary>An enqueue that met a pending task of the same key and was dropped.</summary>
/// <param name="TaskName">The registered name.</param>
/// <param name="UniqueKey">The key.</param>
/// <param name="HolderTaskId">The pending task that holds the key.</param>
/// <param name="Args">The dropped arguments.</param>
public sealed record DuplicateContext(string TaskName, string UniqueKey, string HolderTaskId, object Args);
