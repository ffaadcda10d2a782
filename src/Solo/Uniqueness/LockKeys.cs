namespace Solo.Uniqueness;

/// <summary>
/// Lock key names. Both slots of one unique key share a hash tag (the braces) so that a backend on
/// Redis Cluster keeps them in one slot and can swap them atomically.
/// </summary>
internal static class LockKeys
{
    public static string Queue(string prefix, string uniqueKey) => string.Concat(prefix, "{", uniqueKey, "}:q");

    public static string Run(string prefix, string uniqueKey) => string.Concat(prefix, "{", uniqueKey, "}:r");
}
