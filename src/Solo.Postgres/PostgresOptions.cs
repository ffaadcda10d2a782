using System.Text.RegularExpressions;

namespace Solo.Postgres;

/// <summary>
/// Settings of the PostgreSQL backend (<see cref="PostgresBroker"/> and <see cref="PostgresLockStore"/>).
/// Every process that shares work must use the same database, <see cref="Schema"/> and
/// <see cref="TablePrefix"/>; the other settings are per process.
/// </summary>
/// <remarks>
/// The server, credentials, pool size and timeouts come from the Npgsql connection string
/// (<c>Timeout</c> bounds how long an operation waits to connect before it fails with
/// <see cref="BackendUnavailableException"/>, <c>Command Timeout</c> how long a statement may run).
/// </remarks>
public sealed partial class PostgresOptions
{
    /// <summary>The schema of Solo's tables; created by Solo when missing. Lower-case letters, digits and <c>_</c>. Default <c>public</c>.</summary>
    public string Schema { get; set; } = "public";

    /// <summary>
    /// The start of the name of every table, index and sequence Solo creates, so that several Solo
    /// installations can share one schema. Lower-case letters, digits and <c>_</c>, at most 40 characters;
    /// may be empty. Default <c>solo_</c> (tables <c>solo_messages</c>, <c>solo_dead_letters</c>,
    /// <c>solo_locks</c>, <c>solo_schema_migrations</c>).
    /// </summary>
    public string TablePrefix { get; set; } = "solo_";

    /// <summary>
    /// How long a received message stays leased to its receiver before it is delivered again, unless it is
    /// settled or renewed first; measured on the database server's clock. It also bounds how long a message
    /// held by a killed process waits. Must be positive. Default 30 s.
    /// </summary>
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest pause between two looks of a waiting receive. Publishes wake waiting receivers at once
    /// (through <c>LISTEN</c>/<c>NOTIFY</c>, in every process); polling finds what no notification announces:
    /// start times and lease ends that have come, and publishes made while the listening connection was
    /// down. The pause starts short and doubles up to this value. Must be positive. Default 1 s.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A copy, so later changes to this instance do not reach a store that already read it.</summary>
    internal PostgresOptions Clone() => new()
    {
        Schema = Schema,
        TablePrefix = TablePrefix,
        DeliveryLease = DeliveryLease,
        PollInterval = PollInterval,
    };

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    internal void Validate(string paramName)
    {
        if (Schema is null || !SchemaPattern().IsMatch(Schema))
        {
            throw new ArgumentException($"PostgresOptions.Schema must be 1 to 63 lower-case letters, digits or '_', starting with a letter or '_'; it is '{Schema}'.", paramName);
        }

        if (TablePrefix is null || !PrefixPattern().IsMatch(TablePrefix))
        {
            throw new ArgumentException($"PostgresOptions.TablePrefix must be at most 40 lower-case letters, digits or '_', starting with a letter or '_'; it is '{TablePrefix}'.", paramName);
        }

        if (DeliveryLease <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, DeliveryLease, "PostgresOptions.DeliveryLease must be positive.");
        }

        if (PollInterval <= TimeSpan.Zero || PollInterval.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, PollInterval, "PostgresOptions.PollInterval must be positive and at most int.MaxValue milliseconds.");
        }
    }

    // Lower case only, so that quoted and unquoted spellings in the users' own SQL name the same objects.
    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaPattern();

    [GeneratedRegex("^([a-z_][a-z0-9_]{0,39})?$", RegexOptions.CultureInvariant)]
    private static partial Regex PrefixPattern();
}
