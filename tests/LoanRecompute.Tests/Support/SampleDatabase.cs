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
