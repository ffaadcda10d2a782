namespace Solo.Sqlite;

/// <summary>
/// The tables of the broker and the lock store, which share one file. The version lives in
/// <c>PRAGMA user_version</c>; a file written by a newer Solo.Sqlite is refused rather than misread.
/// </summary>
/// <remarks>
/// Times are <see cref="DateTimeOffset.UtcTicks"/>, so that a fake clock round-trips exactly.
/// </remarks>
internal static class SqliteSchema
{
    /// <summary>The version this code writes and reads.</summary>
    public const int CurrentVersion = 1;

    // solo_messages.not_before is when a row may next be delivered: its start time until it is received,
    // then the end of its current lease. Folding the lease end into it makes "due" a single range of one
    // index, so a receive costs O(log n) however many messages wait or are in flight. A row is in flight
    // while it has a lease token and its not_before is still ahead; once that passes it is ready again.
    // lease_token is random per delivery, so a delivery whose lease ended (settled, or redelivered to
    // someone else) can never match the row again. The id is not unique: a retry reuses its task's id.
    //
    // solo_locks rows may outlive their TTL until an acquire of the same key or a sweep deletes them;
    // every read treats them as absent. Fencing tokens come from the one row of solo_fencing, so a key's
    // tokens keep growing after its row is deleted.
    public const string Create = """
        CREATE TABLE IF NOT EXISTS solo_messages (
            seq INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            id TEXT NOT NULL,
            body BLOB NOT NULL,
            not_before INTEGER NOT NULL,
            lease_token INTEGER,
            delivery_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS solo_messages_due ON solo_messages (queue, not_before, seq);
        CREATE TABLE IF NOT EXISTS solo_dead_letters (
            seq INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            id TEXT NOT NULL,
            body BLOB NOT NULL,
            reason TEXT NOT NULL,
            dead_lettered_at INTEGER NOT NULL,
            delivery_count INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS solo_dead_letters_queue ON solo_dead_letters (queue, seq);
        CREATE TABLE IF NOT EXISTS solo_locks (
            key TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            fencing_token INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS solo_locks_expiry ON solo_locks (expires_at);
        CREATE TABLE IF NOT EXISTS solo_fencing (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_token INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO solo_fencing (id, last_token) VALUES (1, 0);
        """;
}
