using Npgsql;
using Solo.Postgres.Brokers;
using Solo.Shared;

namespace Solo.Postgres.Storage;

/// <summary>
/// What a broker and a lock store on one database share: the pooled data source, the names of Solo's
/// objects, the one-time migration, the in-process wake-ups of waiting receivers and the listening
/// connection that turns other processes' publishes into wake-ups. Every operation goes through
/// <see cref="RunAsync{T}"/>, which translates the faults of an unreachable server into
/// <see cref="BackendUnavailableException"/>.
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable, IDisposable
{
    private const int MaxAttempts = 5;

    private readonly bool _ownsDataSource;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closing = new();
    private Task? _migrated;
    private QueueListener? _listener;
    private bool _disposed;

    /// <summary>Uses <paramref name="dataSource"/>; disposes it with this object only when <paramref name="ownsDataSource"/>.</summary>
    public PostgresDatabase(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        DataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Names = new PostgresNames(options.Schema, options.TablePrefix);
        ServerName = PostgresErrors.ServerName(dataSource.ConnectionString);
    }

    public NpgsqlDataSource DataSource { get; }

    public PostgresNames Names { get; }

    /// <summary>The server as errors name it, e.g. <c>PostgreSQL 127.0.0.1:5432/app</c>.</summary>
    public string ServerName { get; }

    public QueueSignals Signals { get; } = new();

    /// <summary>Set when another transaction committed outbox rows (NOTIFY on the outbox channel), heard by the listener.</summary>
    public WakeSignal OutboxCommitted { get; } = new();

    /// <summary>Cancelled when this object is disposed, so that waiting receives end.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Creates a pooled data source of its own for <paramref name="connectionString"/>.</summary>
    public static PostgresDatabase Create(string connectionString, PostgresOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return new PostgresDatabase(NpgsqlDataSource.Create(connectionString), ownsDataSource: true, options);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> on a pooled connection once the schema is current. A transaction
    /// that lost a deadlock or a serialization conflict is run again (PostgreSQL rolled it back); the
    /// faults of an unreachable server become <see cref="BackendUnavailableException"/>.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await EnsureMigratedAsync(cancellationToken).ConfigureAwait(false);
                var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    return await operation(connection, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (attempt < MaxAttempts && PostgresErrors.IsRetryable(ex))
            {
            }
            catch (Exception ex) when (attempt == 1 && !cancellationToken.IsCancellationRequested && PostgresErrors.IsTerminatedConnection(ex))
            {
                // A pooled connection that the server ended while it was idle, e.g. across a restart; its
                // siblings are as dead, so they go too. If the server is still down, the next attempt says so.
                DataSource.Clear();
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && PostgresErrors.IsUnavailable(ex))
            {
                // The idle connections of the pool died with the server, or soon will: without them the
                // first operation after a restart opens a fresh one instead of failing on a dead socket.
                DataSource.Clear();
                throw new BackendUnavailableException(ServerName, ex.Message, ex);
            }
        }
    }

    /// <summary>Completes once the schema is current; migrates on the first call, and again after a failed one.</summary>
    public Task EnsureMigratedAsync(CancellationToken cancellationToken)
    {
        var migrated = Volatile.Read(ref _migrated);
        if (migrated is { IsCompletedSuccessfully: true })
        {
            return migrated;
        }

        lock (_gate)
        {
            if (_migrated is null || _migrated.IsFaulted || _migrated.IsCanceled)
            {
                // Not the caller's token: other callers share this migration, and one giving up must not fail theirs.
                _migrated = MigrateAsync(_closing.Token);
            }

            return _migrated.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Starts the listening connection of <see cref="Signals"/> and <see cref="OutboxCommitted"/> unless it runs already.</summary>
    public void StartListening()
    {
        if (Volatile.Read(ref _listener) is not null)
        {
            return;
        }

        lock (_gate)
        {
            if (_listener is null && !_disposed)
            {
                _listener = new QueueListener(this);
                _listener.Start();
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        QueueListener? listener;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            listener = _listener;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        if (listener is not null)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_ownsDataSource)
        {
            await DataSource.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await PostgresMigrator.MigrateAsync(connection, Names, PostgresMigrations.All, cancellationToken).ConfigureAwait(false);
        }
    }
}
