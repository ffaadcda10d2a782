using System.Globalization;
using Microsoft.Data.Sqlite;

namespace LoanRecompute.Tests.Support;

/// <summary>Reads (and, for verify's own tests, writes) the sample's tables in the shared SQLite file.</summary>
internal sealed class SampleDatabase(string path)
{
    private const int SqliteError = 1;

    public string Path { get; } = path;

    /// <summary>Every run, oldest first; empty while no process has created the table yet.</summary>
    public Task<IReadOnlyList<RecordedRun>> RunsAsync() => QueryRunsAsync("1 = 1");

    /// <summary>The runs of process <paramref name="pid"/> that have not ended.</summary>
    public Task<IReadOnlyList<RecordedRun>> OpenRunsAsync(int pid) =>
        QueryRunsAsync(string.Create(CultureInfo.InvariantCulture, $"pid = {pid} AND ended_at IS NULL"));

    private async Task<IReadOnlyList<RecordedRun>> QueryRunsAsync(string where)
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT run_id, task_id, loan_id, started_at, ended_at, outcome, pid FROM runs WHERE {where} ORDER BY run_id";
        try
        {
            await using var reader = await command.ExecuteReaderAsync();
            var runs = new List<RecordedRun>();
            while (await reader.ReadAsync())
            {
                runs.Add(new RecordedRun(
                    reader.GetInt64(0),
                    reader.GetString(1),
                    reader.GetInt32(2),
                    reader.GetInt64(3),
                    reader.IsDBNull(4) ? null : reader.GetInt64(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.GetInt32(6)));
            }

            return runs;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteError && ex.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return [];
        }
    }

    /// <summary>The lost or stale loans with their runs, and the pairs of overlapping runs of a loan, as text.</summary>
    public async Task<string> DescribeProblemsAsync(IReadOnlyDictionary<int, long> killedAt)
    {
        var text = new System.Text.StringBuilder();
        await using var connection = await OpenAsync();
        async Task Dump(string title, string sql)
        {
            text.AppendLine(title);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var values = new object[reader.FieldCount];
                reader.GetValues(values);
                text.AppendLine("  " + string.Join(" | ", values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
            }
        }

        await Dump("stale or lost loans (loan, version, result version) and their last runs (task, version read, start, end, outcome, pid, attempt):", """
            SELECT l.loan_id, l.version, s.version,
                   (SELECT group_concat(task_id || ' v' || version_read || ' ' || started_at || '-' || COALESCE(ended_at, 'open') || ' ' || COALESCE(outcome, '-') || ' pid ' || pid || ' a' || attempt, '; ')
                    FROM (SELECT * FROM runs r WHERE r.loan_id = l.loan_id ORDER BY run_id DESC LIMIT 4))
            FROM loans l LEFT JOIN results s ON s.loan_id = l.loan_id
            WHERE s.version IS NULL OR s.version < l.version
            """);
        await Dump("runs without an end (run, task, loan, start, pid, worker last_seen):", """
            SELECT r.run_id, r.task_id, r.loan_id, r.started_at, r.pid, w.last_seen
            FROM runs r LEFT JOIN workers w ON w.worker_id = r.worker_id WHERE r.ended_at IS NULL
            """);
        await Dump("runs of the same loan that started before an open run's worker was last seen + 500 ms (open run, its task, its start, later run, its task, its start, its pid):", """
            SELECT a.run_id, a.task_id, a.started_at, b.run_id, b.task_id, b.started_at, b.pid
            FROM runs a JOIN workers w ON w.worker_id = a.worker_id JOIN runs b ON b.loan_id = a.loan_id AND b.run_id <> a.run_id
            WHERE a.ended_at IS NULL AND b.started_at >= a.started_at AND b.started_at < w.last_seen + 500
            """);
        await Dump("overlapping runs of a loan, neither closed as stale-write-refused or lease-lost (loan, then per run: task, token, attempt, start, end, outcome, pid):", """
            WITH spans AS (
                SELECT r.*, COALESCE(r.ended_at, w.stopped_at, w.last_seen + 500) AS until
                FROM runs r LEFT JOIN workers w ON w.worker_id = r.worker_id
                WHERE r.outcome IS NULL OR r.outcome NOT IN ('stale-write-refused', 'lease-lost'))
            SELECT a.loan_id,
                   a.task_id || ' t' || COALESCE(a.fencing_token, '-') || ' a' || a.attempt || ' ' || a.started_at || '-' || COALESCE(a.ended_at, 'open') || ' ' || COALESCE(a.outcome, '-') || ' pid ' || a.pid,
                   b.task_id || ' t' || COALESCE(b.fencing_token, '-') || ' a' || b.attempt || ' ' || b.started_at || '-' || COALESCE(b.ended_at, 'open') || ' ' || COALESCE(b.outcome, '-') || ' pid ' || b.pid
            FROM spans a JOIN spans b ON b.loan_id = a.loan_id AND b.run_id > a.run_id
            WHERE b.started_at < a.until AND a.started_at < b.until
            LIMIT 20
            """);
        text.AppendLine("killed (pid: seen dead at): " + string.Join(", ", killedAt.Select(p => $"{p.Key}: {p.Value}")));
        return text.ToString();
    }

    /// <summary>Committed enqueues waiting in Solo's outbox; 0 before the outbox table exists.</summary>
    public async Task<long> OutboxCountAsync()
    {
        if (!File.Exists(Path))
        {
            return 0;
        }

        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'solo_outbox'";
        if ((long)(await command.ExecuteScalarAsync())! == 0)
        {
            return 0;
        }

        command.CommandText = "SELECT count(*) FROM solo_outbox";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs <paramref name="sql"/> in one transaction.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWrite,
            // Closed with the test's use of it, so the test directory can be deleted.
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        await connection.OpenAsync();
        await using var busy = connection.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout = 30000";
        await busy.ExecuteNonQueryAsync();
        return connection;
    }
}
