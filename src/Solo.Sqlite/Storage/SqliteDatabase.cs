using Microsoft.Data.Sqlite;
using Solo.Shared;

namespace Solo.Sqlite;

/// <summary>
/// One process's handle on a Solo database file: one connection, used by one operation at a time, with
/// its statements prepared once and reused. The broker and the lock store of an app share one, so that
/// inside a process they wait for each other asynchronously instead of in SQLite's busy handler, which
/// blocks a thread; only other processes meet the busy handler.
/// </summary>
/// <remarks>
/// <para>
/// The connection runs in WAL mode, so readers never block the writer, with <c>synchronous=NORMAL</c>:
/// a commit is appended to the WAL file before the call returns, so a publish or ack that returned survives
/// a killed process; only a crash of the operating system or a power loss can take the last commits
/// (never the file's consistency). FULL would fsync every commit to survive that as well, at a cost of
/// one disk flush per operation that an embedded queue's throughput cannot afford.
/// </para>
/// <para>
/// The busy timeout and the retry backoff are real time: they measure waits for a file lock that another
/// process releases in real time, so they never come from an injected (possibly fake) clock.
/// </para>
/// </remarks>
internal sealed class SqliteDatabase : IAsyncDisposable, IDisposable
{
    // SQLite's primary result code for "the file is locked by another connection".
    private const int SqliteBusy = 5;

    // "The file or its folder cannot be opened": a path that is a folder, or one without permission.
    private const int SqliteCantOpen = 14;
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromMilliseconds(100);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly string _connectionString;
    private SqliteConnection? _connection;
    private bool _closed;

    public SqliteDatabase(SqliteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        Path = System.IO.Path.GetFullPath(options.Path);
        BusyTimeout = options.BusyTimeout;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // The one connection lives as long as this object; a pool would keep the file open after it.
            Pooling = false,
            // Microsoft.Data.Sqlite re-runs a busy statement itself until this many seconds have passed;
            // it must not stretch a busy wait beyond the timeout the app chose.
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        }.ToString();
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    public TimeSpan BusyTimeout { get; }

    /// <summary>Wakes this process's waiting receivers when this process publishes.</summary>
    public QueueSignals Signals { get; } = new();

    /// <summary>Fires when the database is disposed, to end waits.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Runs <paramref name="work"/> alone on the connection, without a transaction of its own.</summary>
    /// <remarks>When the file stays busy it is run again, so it must leave nothing behind outside the database.</remarks>
    public Task<T> ReadAsync<T>(Func<SqliteDatabase, T> work, CancellationToken cancellationToken) =>
        RunAsync(work, cancellationToken);

    /// <summary>Runs <paramref name="work"/> alone on the connection in one IMMEDIATE transaction.</summary>
    /// <remarks>When the file stays busy it is run again, so it must leave nothing behind outside the database.</remarks>
    public Task<T> WriteAsync<T>(Func<SqliteDatabase, T> work, CancellationToken cancellationToken) =>
        RunAsync(db => db.InTransaction(work), cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> alone on the connection; <paramref name="work"/> may open a transaction
    /// with <see cref="InTransaction{T}"/> when it needs one.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<SqliteDatabase, T> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_closed, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = TimeProvider.System.GetTimestamp();
            for (var attempt = 0; ; attempt++)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                try
                {
                    EnsureOpen();
                    return work(this);
                }
                catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteBusy)
                {
                    if (TimeProvider.System.GetElapsedTime(started) >= BusyTimeout)
                    {
                        // Every write ran in a transaction that is rolled back by now: nothing was stored.
                        throw new BackendUnavailableException(
                            $"SQLite {Path}",
                            $"another process kept the file locked for longer than the busy timeout ({BusyTimeout.TotalSeconds:0.###} s)",
                            ex);
                    }

                    // SQLite's busy handler has waited where it can; what is left are the busy results it
                    // reports at once (a WAL being recovered, a lock taken while the file is being opened),
                    // which clear up within milliseconds.
                    var backoff = TimeSpan.FromMilliseconds(Math.Min(LongestBackoff.TotalMilliseconds, 2 << Math.Min(attempt, 6)));
                    await Task.Delay(backoff, TimeProvider.System, cancellationToken).ConfigureAwait(false);
                }
                catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteCantOpen)
                {
                    throw new BackendUnavailableException($"SQLite {Path}", "the file cannot be opened or created", ex);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a <c>BEGIN IMMEDIATE</c> transaction: the write lock is taken before
    /// the first read, so what the work reads cannot change before it commits, in any process.
    /// Call only inside <see cref="RunAsync{T}"/>.
    /// </summary>
    public T InTransaction<T>(Func<SqliteDatabase, T> work)
    {
        Command("BEGIN IMMEDIATE").ExecuteNonQuery();
        try
        {
            var result = work(this);
            Command("COMMIT").ExecuteNonQuery();
            return result;
        }
        catch
        {
            RollBack();
            throw;
        }
    }

    /// <summary>The prepared statement of <paramref name="sql"/>. Call only inside <see cref="RunAsync{T}"/>.</summary>
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
        if (_closed)
        {
            return;
        }

        _closing.Cancel();
        _gate.Wait();
        try
        {
            Close();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_closed)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            Close();
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        // _closing stays undisposed: receivers still waiting may read its token after this, and a
        // source without a timer holds nothing to free.
        DropConnection();
    }

    private void EnsureOpen()
    {
        if (_connection is not null)
        {
            return;
        }

        var folder = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        _connection = new SqliteConnection(_connectionString);
        try
        {
            _connection.Open();
            Configure();
            InTransaction(static db => db.MigrateSchema());
        }
        catch
        {
            DropConnection();
            throw;
        }
    }

    private void Configure()
    {
        // Set first, so that the pragmas below already wait for other processes instead of failing.
        using (var busy = _connection!.CreateCommand())
        {
            busy.CommandText = $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds}";
            busy.ExecuteNonQuery();
        }

        // Persistent in the file: once set by any process, every connection uses the WAL.
        var mode = Command("PRAGMA journal_mode = WAL").ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"The SQLite file '{Path}' cannot use write-ahead logging (journal mode '{mode}'); Solo needs it to share the file between processes. Put the file on a local disk.");
        }

        // Per connection. Why NORMAL and not FULL: see the remarks of this class.
        Command("PRAGMA synchronous = NORMAL").ExecuteNonQuery();
    }

    private bool MigrateSchema()
    {
        var version = Convert.ToInt64(Command("PRAGMA user_version").ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (version > SqliteSchema.CurrentVersion)
        {
            throw new NotSupportedException(
                $"The SQLite file '{Path}' has Solo schema version {version}; this Solo.Sqlite reads version {SqliteSchema.CurrentVersion}. Upgrade Solo.Sqlite in every process that uses the file.");
        }

        if (version < SqliteSchema.CurrentVersion)
        {
            Command(SqliteSchema.Create).ExecuteNonQuery();
            Command($"PRAGMA user_version = {SqliteSchema.CurrentVersion}").ExecuteNonQuery();
        }

        return true;
    }

    private void RollBack()
    {
        // SQLite ends the transaction by itself after some errors; rolling back then would only fail.
        if (_connection?.Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) == 0)
        {
            Command("ROLLBACK").ExecuteNonQuery();
        }
    }

    private void DropConnection()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        _connection?.Dispose();
        _connection = null;
    }
}
