using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Solo.Client;
using Solo.Worker;

namespace Solo.Outbox;

/// <summary>
/// Publishes committed outbox messages: claims a batch (no other relay publishes it meanwhile), decides
/// uniqueness and publishes each message as an enqueue would, then removes the batch. Woken on commit in
/// this process and by the store's own signal from other processes; polls for what a crashed process left.
/// A crash between publishing and removing publishes the batch again: at least once, with the same task
/// ids, so the repeat takes the same queue slots and is dropped at start.
/// </summary>
internal sealed class OutboxRelay(
    IOutboxStore store,
    SoloClient client,
    OutboxWakeup wakeup,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly OutboxOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _options.Validate();
        if (!_options.RunRelay)
        {
            return;
        }

        logger.LogInformation("Solo outbox relay started (batch {BatchSize}, poll {PollInterval})", _options.BatchSize, _options.PollInterval);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var published = await RelayBatchAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
                if (published == 0)
                {
                    await WaitForMessagesAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The relay outlives every fault of the database, the broker or the lock store.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var retryDelay = Backoff.ForAttempt(++failures, FirstRetryDelay, _options.MaxRetryDelay);
                logger.LogWarning(ex, "Solo outbox relay: publishing failed; retrying in {Delay}", retryDelay);
                try
                {
                    await Task.Delay(retryDelay, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        logger.LogInformation("Solo outbox relay stopped");
    }

    /// <summary>Publishes one batch; returns how many messages it held.</summary>
    internal async Task<int> RelayBatchAsync(CancellationToken cancellationToken)
    {
        var batch = await store.ClaimAsync(_options.BatchSize, cancellationToken).ConfigureAwait(false);
        await using (batch.ConfigureAwait(false))
        {
            if (batch.Messages.Count == 0)
            {
                return 0;
            }

            // Nothing may be lost to a stop between publishing and removing: both run to the end.
            await client.PublishOutboxAsync(batch.Messages, CancellationToken.None).ConfigureAwait(false);
            await batch.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
            return batch.Messages.Count;
        }
    }

    private async Task WaitForMessagesAsync(CancellationToken stoppingToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var local = wakeup.WaitAsync(_options.PollInterval, waiting.Token);
        var remote = store.WaitForMessagesAsync(_options.PollInterval, waiting.Token).AsTask();
        var first = await Task.WhenAny(local, remote).ConfigureAwait(false);
        if (first == remote && remote.IsFaulted)
        {
            // A store that cannot listen now (its database is down) is polled instead.
            await local.ConfigureAwait(false);
        }

        await waiting.CancelAsync().ConfigureAwait(false);

        // The loser ends by cancellation.
        try
        {
            await Task.WhenAll(local, remote).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            if (ex is not OperationCanceledException)
            {
                logger.LogDebug(ex, "Solo outbox relay: waiting for the store's signal failed");
            }
        }
    }
}
