using Npgsql;
using Solo.Postgres.Storage;

namespace Solo.Postgres.Brokers;

/// <summary>
/// One connection per database object that <c>LISTEN</c>s to the publish channel and turns each
/// notification (its payload is the queue) into a wake-up of this process's waiting receivers. It
/// reconnects by itself; while it is down, receivers still find messages by polling.
/// </summary>
internal sealed class QueueListener(PostgresDatabase database) : IAsyncDisposable
{
    // A listening connection only reads, so a dead server or a cut network would go unnoticed without a probe.
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    public void Start() => _running = Task.Run(() => RunAsync(_stop.Token));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var retry = FirstRetry;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stop, () => retry = FirstRetry).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Whatever broke the connection, the answer is the same: wait, then connect again.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            try
            {
                await Task.Delay(retry, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
        }
    }

    private async Task ListenAsync(CancellationToken stop, Action connected)
    {
        var connection = await database.DataSource.OpenConnectionAsync(stop).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            connection.Notification += (_, e) =>
            {
                if (e.Channel == database.Names.OutboxChannel)
                {
                    database.OutboxCommitted.Set();
                }
                else
                {
                    database.Signals.Published(e.Payload);
                }
            };
            using (var listen = new NpgsqlCommand($"LISTEN {database.Names.QuotedChannel}; LISTEN {database.Names.QuotedOutboxChannel}", connection))
            {
                await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
            }

            connected();
            // Publishes and outbox commits made while nobody listened raised no wake-up: let the waiters look now.
            database.Signals.PublishedAnywhere();
            database.OutboxCommitted.Set();
            while (true)
            {
                if (!await connection.WaitAsync(ProbeInterval, stop).ConfigureAwait(false))
                {
                    using var probe = new NpgsqlCommand("SELECT 1", connection);
                    await probe.ExecuteScalarAsync(stop).ConfigureAwait(false);
                }
            }
        }
    }
}
