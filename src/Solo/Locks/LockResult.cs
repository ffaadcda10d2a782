namespace Solo.Locks;

/// <summary>The outcome of an attempt to take a lock.</summary>
/// <param name="Acquired">True when the caller holds the lock now.</param>
/// <param name="Owner">The owner after the call: the caller when acquired, else the holder (null if none).</param>
/// <param name="FencingToken">The owner's fencing token (0 if none).</param>
/// <param name="ExpiresAt">When the owner's lease ends.</param>
public readonly record struct LockResult(bool Acquired, string? Owner, long FencingToken, DateTimeOffset ExpiresAt);
