namespace Solo.Sqlite;

/// <summary>
/// Settings of the SQLite backend (<see cref="SqliteBroker"/> and <see cref="SqliteLockStore"/>). Every
/// process that shares work must point at the same file; every other setting is per process.
/// </summary>
public sealed class SqliteOptions
{
    /// <summary>The file used when the app names none: <c>solo.db</c>.</summary>
    public const string DefaultPath = "solo.db";

    /// <summary>
    /// The database file; created with its folder on first use. A relative path is resolved against the
    /// process's current directory when the broker or lock store is created, so processes that share work
    /// must start in the same directory or, better, be given the same absolute path. Default
    /// <see cref="DefaultPath"/> (<c>solo.db</c> in the current directory).
    /// </summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>
    /// How long a received message stays leased to its receiver before it is delivered again, unless it
    /// is settled or renewed first. It also bounds how long a message held by a killed process waits.
    /// Must be positive. Default 30 s.
    /// </summary>
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a waiting receive looks at the file for messages published by other processes or for
    /// start times and leases that have come. Publishes in this process wake it at once. Must be
    /// positive. Default 50 ms.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long an operation waits for another process to release the file's write lock before it fails
    /// with a <see cref="BackendUnavailableException"/>. Must be positive and at most <see cref="int.MaxValue"/> milliseconds; a timeout
    /// under a second ends after about a second, since Microsoft.Data.Sqlite counts its own retries in
    /// whole seconds. Default 10 s.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A copy, so later changes to this instance do not reach a store that already read it.</summary>
    internal SqliteOptions Clone() => new()
    {
        Path = Path,
        DeliveryLease = DeliveryLease,
        PollInterval = PollInterval,
        BusyTimeout = BusyTimeout,
    };

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    internal void Validate(string paramName)
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("SqliteOptions.Path must name a file.", paramName);
        }

        if (DeliveryLease <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, DeliveryLease, "SqliteOptions.DeliveryLease must be positive.");
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, PollInterval, "SqliteOptions.PollInterval must be positive.");
        }

        if (BusyTimeout <= TimeSpan.Zero || BusyTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, BusyTimeout, "SqliteOptions.BusyTimeout must be positive and at most int.MaxValue milliseconds.");
        }
    }
}
