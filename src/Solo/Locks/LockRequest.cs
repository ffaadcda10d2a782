namespace Solo.Locks;

/// <summary>One lock to take in <see cref="ILockStore.TryAcquireManyAsync"/>.</summary>
/// <param name="Key">The lock key.</param>
/// <param name="Owner">Who takes it.</param>
/// <param name="Ttl">How long it lives unless renewed.</param>
public sealed record LockRequest(string Key, string Owner, TimeSpan Ttl);
