namespace Solo.Postgres.Storage;

/// <summary>
/// Every migration of Solo's schema, oldest first. To change the schema, append a migration with the next
/// version; never edit one that was released, since databases that applied it will not run it again.
/// </summary>
internal static class PostgresMigrations
{
    public static IReadOnlyList<PostgresMigration> All { get; } =
    [
        new(1, "broker and lock store", BrokerAndLocks),
        new(2, "transactional outbox", Outbox),
    ];

    /// <summary>The version a database has once every migration ran.</summary>
    public static int Latest => All[^1].Version;

    // messages.not_before is when a row may next be delivered: its start time until it is received, then
    // the end of its current lease. Folding the lease end into it makes "due" one range of one index, so a
    // receive costs O(log n) however many messages wait or are in flight. A row is in flight while it has
    // a lease token and its not_before is still ahead; once that passes it is ready again. lease_token is
    // random per delivery, so a delivery whose lease ended can never match the row again. The id is not
    // unique: a retry reuses its task's id.
    //
    // locks rows may outlive their TTL until an acquire of the same key or a sweep deletes them; every read
    // treats them as absent. Their keys sort bytewise ("C"), so a prefix is one range of the primary key.
    // Fencing tokens come from one sequence, which never goes back (not even on rollback), so a key's
    // tokens keep growing after its row is deleted and across server restarts.
    // Rows are written by the app's transactions and deleted by the relay that published them; claims are
    // row locks (FOR UPDATE SKIP LOCKED) held by the relay's transaction, so no claim column is needed.
    private static string Outbox(PostgresNames n) => $"""
        CREATE TABLE {n.Outbox} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            task_id text NOT NULL,
            task text NOT NULL,
            queue text NOT NULL,
            args text NOT NULL,
            unique_key text,
            not_before timestamptz,
            enqueued_at timestamptz NOT NULL
        );
        """;

    private static string BrokerAndLocks(PostgresNames n) => $"""
        CREATE TABLE {n.Messages} (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            queue text NOT NULL,
            id text NOT NULL,
            body bytea NOT NULL,
            not_before timestamptz NOT NULL,
            lease_token uuid,
            delivery_count integer NOT NULL DEFAULT 0
        );
        CREATE INDEX {n.Local("messages_due")} ON {n.Messages} (queue, not_before, seq);
        CREATE TABLE {n.DeadLetters} (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            queue text NOT NULL,
            id text NOT NULL,
            body bytea NOT NULL,
            reason text NOT NULL,
            dead_lettered_at timestamptz NOT NULL,
            delivery_count integer NOT NULL
        );
        CREATE INDEX {n.Local("dead_letters_queue")} ON {n.DeadLetters} (queue, seq);
        CREATE TABLE {n.Locks} (
            key text COLLATE "C" PRIMARY KEY,
            owner text NOT NULL,
            fencing_token bigint NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX {n.Local("locks_expiry")} ON {n.Locks} (expires_at);
        CREATE SEQUENCE {n.FencingTokens} AS bigint;
        """;
}
