using System.Security.Cryptography;
using System.Text;

namespace Solo.Postgres.Storage;

/// <summary>
/// The quoted, schema-qualified names of Solo's objects for one <see cref="PostgresOptions.Schema"/> and
/// <see cref="PostgresOptions.TablePrefix"/>, ready to splice into SQL (both were validated, so quoting
/// them is all the escaping they need).
/// </summary>
internal sealed class PostgresNames
{
    // NAMEDATALEN - 1: PostgreSQL's limit on identifiers, channel names included.
    private const int MaxIdentifierLength = 63;

    public PostgresNames(string schema, string prefix)
    {
        Schema = schema;
        Prefix = prefix;
        QuotedSchema = Quote(schema);
        Messages = Table("messages");
        DeadLetters = Table("dead_letters");
        Locks = Table("locks");
        FencingTokens = Table("fencing_tokens");
        Migrations = Table("schema_migrations");
        Outbox = Table("outbox");
        var channel = $"{schema}.{prefix}messages";
        Channel = ChannelName(channel);
        OutboxChannel = ChannelName($"{schema}.{prefix}outbox");
    }

    public string Schema { get; }

    public string Prefix { get; }

    public string QuotedSchema { get; }

    public string Messages { get; }

    public string DeadLetters { get; }

    public string Locks { get; }

    /// <summary>The sequence every fencing token comes from.</summary>
    public string FencingTokens { get; }

    public string Migrations { get; }

    /// <summary>The transactional outbox's table.</summary>
    public string Outbox { get; }

    /// <summary>The notification channel of outbox commits, as <c>pg_notify</c> takes it.</summary>
    public string OutboxChannel { get; }

    /// <summary>The outbox channel as <c>LISTEN</c> takes it.</summary>
    public string QuotedOutboxChannel => Quote(OutboxChannel);

    /// <summary>The notification channel of publishes, as <c>pg_notify</c> takes it (unquoted text).</summary>
    public string Channel { get; }

    /// <summary>The channel as <c>LISTEN</c> takes it (a quoted identifier).</summary>
    public string QuotedChannel => Quote(Channel);

    /// <summary>An index or constraint name: unqualified, since PostgreSQL puts it in its table's schema.</summary>
    public string Local(string name) => Quote(Prefix + name);

    // A long schema and prefix would overflow the limit; a hash keeps the channel apart from other installations.
    private static string ChannelName(string channel) => channel.Length <= MaxIdentifierLength
        ? channel
        : "solo_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(channel)).AsSpan(0, 16));

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private string Table(string name) => QuotedSchema + "." + Quote(Prefix + name);
}
