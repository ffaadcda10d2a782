namespace Solo.Bench.Scenarios.Outbox;

/// <summary>
/// The app's tables: each transaction records an event, then either enqueues through the outbox or, in
/// the baseline, inserts a row of the same size into a plain table of its own.
/// </summary>
internal static class AppSchema
{
    /// <summary>The tables, with <c>{0}</c> for the database's auto-numbered key type.</summary>
    public const string Create = """
        CREATE TABLE IF NOT EXISTS bench_events (id {0}, loan_id INTEGER NOT NULL, amount INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS bench_plain (id {0}, task_id TEXT NOT NULL, task TEXT NOT NULL, queue TEXT NOT NULL, args TEXT NOT NULL, unique_key TEXT NULL, enqueued_at BIGINT NOT NULL);
        """;

    public const string InsertEvent = "INSERT INTO bench_events (loan_id, amount) VALUES (@loan, @amount)";

    public const string InsertPlain = "INSERT INTO bench_plain (task_id, task, queue, args, unique_key, enqueued_at) VALUES (@id, 'bench.outbox', 'bench', @args, @key, @at)";
}
