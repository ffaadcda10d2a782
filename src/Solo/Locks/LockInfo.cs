namespace Solo.Locks;

/// <summary>A live lock.</summary>
/// <param name="Key">The lock key.</param>
/// <param name="Owner">Who holds it.</param>
/// <param name="FencingToken">The token its owner got.</param>
/// <param name="ExpiresAt">When it ends unless renewed.</param>
public sealed record LockInfo(string Key, string Owner, long FencingToken, DateTimeOffset ExpiresAt);
