namespace Solo.Redis;

/// <summary>Settings of a <see cref="RedisLockStore"/>.</summary>
public sealed class RedisLockStoreOptions
{
    /// <summary>
    /// Put before every key the store touches, e.g. <c>app1:</c> to keep two apps apart in one database.
    /// Solo already names its lock keys <c>solo:{unique key}:q</c> and <c>:r</c>
    /// (<see cref="SoloOptions.LockPrefix"/>), so the default is empty. It must not contain <c>{</c> or
    /// <c>}</c>: the braces of Solo's keys are a Redis Cluster hash tag, which keeps both slots of a unique
    /// key in one hash slot so that they can be swapped in one script.
    /// </summary>
    public string KeyPrefix { get; set; } = "";

    /// <summary>A copy, so later changes to this instance do not reach a store that already read it.</summary>
    internal RedisLockStoreOptions Clone() => new() { KeyPrefix = KeyPrefix };

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    internal void Validate(string paramName)
    {
        if (KeyPrefix is null || KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("RedisLockStoreOptions.KeyPrefix must not be null or contain '{' or '}' (they would move the keys' hash tag).", paramName);
        }
    }
}
