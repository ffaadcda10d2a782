using System.Globalization;
using Microsoft.Data.Sqlite;

namespace LoanRecompute;

/// <summary>
/// The sample's own tables, in the same SQLite file as Solo's queue and locks: one file is what a user
/// copies, backs up or deletes. One connection per process, one operation at a time; other processes are
/// waited for by SQLite's busy timeout.
/// </summary>
/// <remarks>
/// Times are Unix milliseconds of the system clock, which every process on the machine shares; verify
/// compares times written by different processes. Flooring to milliseconds keeps their order (a time
/// read later is never stored as smaller), which is all the interval arithmetic of verify needs.
/// </remarks>
internal sealed class LoanDatabase : IDisposable
{
    // settings: the uniqueness config every process must share (see UniqueSettings).
    // loans/results: the app's data; a result row carries the version it was computed from and the
    //   fencing token of the run that wrote it, which refuses a later write by a run with an older token.
    // runs: one row per task run, written by the task itself, so that verify can see runs of every
    //   process: ended_at and outcome stay null when the process died mid-run.
    // workers: one row per process that runs tasks, with a heartbeat: the last sign of life of a process
    //   that was killed, which bounds when its unfinished runs stopped.
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS loans (
            loan_id INTEGER PRIMARY KEY,
            version INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS results (
            loan_id INTEGER PRIMARY KEY,
            version INTEGER NOT NULL,
            computed_at INTEGER NOT NULL,
            fencing_token INTEGER
        );
        CREATE TABLE IF NOT EXISTS runs (
            run_id INTEGER PRIMARY KEY,
            task_id TEXT NOT NULL,
            loan_id INTEGER NOT NULL,
            version_read INTEGER NOT NULL,
            fencing_token INTEGER,
            attempt INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            ended_at INTEGER,
            outcome TEXT,
            worker_id TEXT NOT NULL,
            pid INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS runs_loan ON runs (loan_id, started_at);
        CREATE TABLE IF NOT EXISTS workers (
            worker_id TEXT PRIMARY KEY,
            pid INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            stopped_at INTEGER
        ) WITHOUT ROWID;
        """;

    // Files written before results had a fencing token: CREATE TABLE IF NOT EXISTS leaves their table as it
    // was. Checked and altered in the schema's own IMMEDIATE transaction, so two processes opening an old
    // file at once cannot both add the column (the second would fail on a duplicate column).
    private const string HasResultTokenSql = "SELECT COUNT(*) FROM pragma_table_info('results') WHERE name = 'fencing_token'";
    private const string AddResultTokenSql = "ALTER TABLE results ADD COLUMN fencing_token INTEGER";

    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly string _connectionString;
    private SqliteConnection? _connection;
    private bool _disposed;

    public LoanDatabase(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // The file must close with this object: simulate deletes it right after.
            Pooling = false,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Runs <paramref name="work"/> in one read transaction: its statements see one snapshot.</summary>
    public Task<T> ReadAsync<T>(Func<LoanDatabase, T> work, CancellationToken cancellationToken) =>
        RunAsync("BEGIN", work, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one <c>BEGIN IMMEDIATE</c> transaction: the write lock is taken before
    /// the first read, so a read-then-write cannot be overtaken by another process.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<LoanDatabase, T> work, CancellationToken cancellationToken) =>
        RunAsync("BEGIN IMMEDIATE", work, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in a <c>BEGIN IMMEDIATE</c> transaction it can hand to others (Solo's
    /// outbox writes in it), committed when the work returns and rolled back when it throws. Statements
    /// from <see cref="Command"/> must be given the transaction; it is taken off them afterwards.
    /// </summary>
    public async Task<T> InAppTransactionAsync<T>(Func<LoanDatabase, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureOpen();
            using var transaction = _connection!.BeginTransaction(deferred: false);
            try
            {
                var result = await work(this, transaction);
                transaction.Commit();
                return result;
            }
            finally
            {
                foreach (var command in _commands.Values)
                {
                    command.Transaction = null;
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The prepared statement of <paramref name="sql"/>, with its parameters left from the last use. Only inside work.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection!.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }

        return command;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _gate.Wait();
        try
        {
            _disposed = true;
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            _commands.Clear();
            _connection?.Dispose();
            _connection = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<T> RunAsync<T>(string begin, Func<LoanDatabase, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureOpen();
            return InTransaction(begin, work);
        }
        finally
        {
            _gate.Release();
        }
    }

    private T InTransaction<T>(string begin, Func<LoanDatabase, T> work)
    {
        Command(begin).ExecuteNonQuery();
        try
        {
            var result = work(this);
            Command("COMMIT").ExecuteNonQuery();
            return result;
        }
        catch
        {
            // SQLite ends some failed transactions by itself; a ROLLBACK then has nothing to end.
            if (SQLitePCL.raw.sqlite3_get_autocommit(_connection!.Handle) == 0)
            {
                Command("ROLLBACK").ExecuteNonQuery();
            }

            throw;
        }
    }

    private static int Migrate(LoanDatabase db)
    {
        db.Command(Schema).ExecuteNonQuery();
        return (long)db.Command(HasResultTokenSql).ExecuteScalar()! == 0 ? db.Command(AddResultTokenSql).ExecuteNonQuery() : 0;
    }

    private void EnsureOpen()
    {
        if (_connection is not null)
        {
            return;
        }

        // As Solo's own connection does: a worker may be the first to touch a file in a new folder.
        if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using (var pragma = connection.CreateCommand())
            {
                // The busy timeout first, so that the pragmas after it wait for other processes too.
                // WAL is persistent in the file (Solo sets it as well); readers then never block writers.
                pragma.CommandText = string.Create(
                    CultureInfo.InvariantCulture,
                    $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
                pragma.ExecuteNonQuery();
            }

            _connection = connection;
            InTransaction("BEGIN IMMEDIATE", static db => Migrate(db));
        }
        catch
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            _commands.Clear();
            _connection = null;
            connection.Dispose();
            throw;
        }
    }
}
