using System.Net.Sockets;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Solo.RabbitMQ;

/// <summary>
/// One AMQP connection with the client's automatic recovery, created on first use. Callers wait for it
/// to be usable (open and not in the middle of a recovery) for at most the operation timeout, then get a
/// <see cref="BackendUnavailableException"/> that names the server without its credentials.
/// </summary>
internal sealed class ConnectionHolder : IAsyncDisposable
{
    // How often a caller looks again while the connection is down; recovery itself runs on its own interval.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly ConnectionFactory _factory;
    private readonly string _name;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private IConnection? _connection;
    private volatile bool _recovering;
    private volatile bool _disposed;

    public ConnectionHolder(RabbitMQBrokerOptions options, string role, TimeProvider time)
    {
        _factory = new ConnectionFactory
        {
            Uri = options.Uri,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = options.RecoveryInterval,
            // A refused connection on loopback fails at once; this bounds a server that accepts and stalls.
            RequestedConnectionTimeout = Clamp(options.OperationTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)),
            ClientProvidedName = $"{options.ConnectionName}:{role}",
        };
        _name = $"{options.ConnectionName}:{role}";
        _timeout = options.OperationTimeout;
        _time = time;
        Backend = DescribeServer(options.Uri);
    }

    /// <summary>How errors name the server: <c>RabbitMQ host:port</c>, plus the virtual host when it is not the default.</summary>
    public string Backend { get; }

    /// <summary>True while the connection is open and not recovering.</summary>
    public bool IsReady => _connection is { IsOpen: true } && !_recovering;

    /// <summary>Raised after the client re-opened the connection and recovered its channels and consumers.</summary>
    public event Func<Task>? Recovered;

    public static string DescribeServer(Uri uri)
    {
        var port = uri.IsDefaultPort || uri.Port < 0 ? (uri.Scheme == "amqps" ? 5671 : 5672) : uri.Port;
        var vhost = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        return vhost.Length == 0 ? $"RabbitMQ {uri.Host}:{port}" : $"RabbitMQ {uri.Host}:{port}/{vhost}";
    }

    /// <summary>True for failures that mean the server cannot be reached (rather than that it refused a request).</summary>
    public static bool IsConnectivityFailure(Exception exception) => exception switch
    {
        AlreadyClosedException => true,
        OperationInterruptedException interrupted => interrupted.ShutdownReason is null or { Initiator: not ShutdownInitiator.Peer } || IsConnectionLevel(interrupted.ShutdownReason.ReplyCode),
        BrokerUnreachableException or ConnectFailureException => true,
        IOException or SocketException => true,
        TimeoutException => true,
        _ => false,
    };

    /// <summary>The connection, waiting up to the operation timeout for it to be usable.</summary>
    public async ValueTask<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsReady)
        {
            return _connection!;
        }

        var deadline = _time.GetUtcNow() + _timeout;
        Exception? lastError = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_connection is null)
            {
                try
                {
                    await ConnectAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    lastError = ex;
                }
            }

            if (IsReady)
            {
                return _connection!;
            }

            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                throw Unavailable(
                    _connection is null ? "cannot connect" : "the connection is lost and the client is reconnecting",
                    lastError ?? _connection?.CloseReason?.Exception);
            }

            await Task.Delay(left < PollInterval ? left : PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The error for an unreachable server; the message never holds the URI, which may carry credentials.</summary>
    public BackendUnavailableException Unavailable(string message, Exception? inner = null) => new(Backend, message, inner);

    /// <summary>Closes the connection as if the process died: no recovery follows. For tests.</summary>
    internal async Task AbortAsync()
    {
        if (_connection is { } connection)
        {
            await connection.AbortAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _connectGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_connection is { } connection)
            {
                try
                {
                    await connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsConnectivityFailure(ex) || ex is OperationCanceledException)
                {
                    // Already gone: the server returns our unacked messages either way.
                }

                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private static bool IsConnectionLevel(ushort replyCode) =>
        // 320 CONNECTION_FORCED, 501 FRAME_ERROR, 541 INTERNAL_ERROR: the whole connection went.
        replyCode is 320 or 501 or 541;

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is not null)
            {
                return;
            }

            var connection = await _factory.CreateConnectionAsync(_name, cancellationToken).ConfigureAwait(false);
            connection.ConnectionShutdownAsync += OnShutdownAsync;
            connection.RecoverySucceededAsync += OnRecoveredAsync;
            _connection = connection;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private Task OnShutdownAsync(object sender, ShutdownEventArgs args)
    {
        _recovering = true;
        return Task.CompletedTask;
    }

    private async Task OnRecoveredAsync(object sender, AsyncEventArgs args)
    {
        _recovering = false;
        if (Recovered is { } recovered)
        {
            await recovered().ConfigureAwait(false);
        }
    }
}
