namespace LoanRecompute;

/// <summary>Loans, results and runs in the SQLite file; each call is one transaction.</summary>
internal sealed class SqliteLoanStore(LoanDatabase database, WorkerIdentity worker) : ILoanStore
{
    private const string RecordEventSql = """
        INSERT INTO loans (loan_id, version) VALUES ($loan, 1)
        ON CONFLICT (loan_id) DO UPDATE SET version = version + 1
        RETURNING version
        """;

    // One statement, so that the start written and the version read belong to one moment.
    private const string StartRunSql = """
        INSERT INTO runs (task_id, loan_id, version_read, fencing_token, attempt, started_at, worker_id, pid)
        VALUES ($task, $loan, COALESCE((SELECT version FROM loans WHERE loan_id = $loan), 0), $fence, $attempt, $now, $worker, $pid)
        RETURNING run_id, version_read
        """;

    // Fenced: the result is written only over a result with an older token (or none). A run that lost its
    // lease (its process stalled, say) and wakes up after a newer run of the loan has written must not put
    // its older version back; the token, not the order of the writes, decides. Equal tokens are refused
    // too: one acquisition, one write. A run without a token (a task that is not unique) is not fenced.
    private const string SaveResultSql = """
        INSERT INTO results (loan_id, version, computed_at, fencing_token) VALUES ($loan, $version, $now, $fence)
        ON CONFLICT (loan_id) DO UPDATE SET version = excluded.version, computed_at = excluded.computed_at, fencing_token = excluded.fencing_token
        WHERE $fence IS NULL OR results.fencing_token IS NULL OR results.fencing_token < $fence
        """;

    private const string EndRunSql = "UPDATE runs SET ended_at = $now, outcome = $outcome WHERE run_id = $run AND ended_at IS NULL";

    private const string LoansSql = """
        SELECT l.loan_id, l.version, r.version, r.computed_at
        FROM loans l LEFT JOIN results r ON r.loan_id = l.loan_id
        ORDER BY l.loan_id
        """;

    public const string Succeeded = "ok";

    /// <summary>The outcome of a run whose result was refused by the fence: a run with a newer token had written.</summary>
    public const string StaleWriteRefused = "stale-write-refused";

    public async ValueTask<long> RecordEventAsync(int loanId, CancellationToken cancellationToken) =>
        await database.WriteAsync(db => (long)db.Command(RecordEventSql).Set("$loan", loanId).ExecuteScalar()!, cancellationToken);

    public async ValueTask<long> RecordEventAsync(int loanId, Func<System.Data.Common.DbTransaction, CancellationToken, Task> alsoInTransaction, CancellationToken cancellationToken) =>
        await database.InAppTransactionAsync(
            async (db, transaction) =>
            {
                var command = db.Command(RecordEventSql);
                command.Transaction = transaction;
                var version = (long)(await command.Set("$loan", loanId).ExecuteScalarAsync(cancellationToken))!;
                await alsoInTransaction(transaction, cancellationToken);
                return version;
            },
            cancellationToken);

    public async ValueTask<LoanRun> StartRunAsync(int loanId, string taskId, int attempt, long? fencingToken, DateTimeOffset startedAt, CancellationToken cancellationToken) =>
        await database.WriteAsync(
            db =>
            {
                using var reader = db.Command(StartRunSql)
                    .Set("$task", taskId)
                    .Set("$loan", loanId)
                    .Set("$fence", fencingToken)
                    .Set("$attempt", attempt)
                    .Set("$now", startedAt.ToUnixTimeMilliseconds())
                    .Set("$worker", worker.Id)
                    .Set("$pid", worker.Pid)
                    .ExecuteReader();
                reader.Read();
                return new LoanRun(reader.GetInt64(0), loanId, reader.GetInt64(1), fencingToken);
            },
            cancellationToken);

    public async ValueTask<bool> CompleteRunAsync(LoanRun run, DateTimeOffset endedAt, Action beforeCommit, CancellationToken cancellationToken) =>
        await database.WriteAsync(
            db =>
            {
                // Checked again under the write lock, which may have been waited for: a run told that its
                // lease is gone writes nothing, even where its token would still pass the fence.
                cancellationToken.ThrowIfCancellationRequested();
                var now = endedAt.ToUnixTimeMilliseconds();
                var written = db.Command(SaveResultSql)
                    .Set("$loan", run.LoanId)
                    .Set("$version", run.Version)
                    .Set("$now", now)
                    .Set("$fence", run.FencingToken)
                    .ExecuteNonQuery() > 0;
                db.Command(EndRunSql).Set("$run", run.RunId).Set("$outcome", written ? Succeeded : StaleWriteRefused).Set("$now", now).ExecuteNonQuery();
                beforeCommit();
                return written;
            },
            cancellationToken);

    public async ValueTask AbandonRunAsync(LoanRun run, string outcome, DateTimeOffset endedAt, CancellationToken cancellationToken) =>
        await database.WriteAsync(
            db => db.Command(EndRunSql).Set("$run", run.RunId).Set("$outcome", outcome).Set("$now", endedAt.ToUnixTimeMilliseconds()).ExecuteNonQuery(),
            cancellationToken);

    public async ValueTask<IReadOnlyList<LoanSnapshot>> GetLoansAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(
            db =>
            {
                var loans = new List<LoanSnapshot>();
                using var reader = db.Command(LoansSql).ExecuteReader();
                while (reader.Read())
                {
                    loans.Add(new LoanSnapshot(
                        reader.GetInt32(0),
                        reader.GetInt64(1),
                        reader.IsDBNull(2) ? null : reader.GetInt64(2),
                        reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
                }

                return (IReadOnlyList<LoanSnapshot>)loans;
            },
            cancellationToken);
}
