using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Solo.Brokers;
using Solo.Leases;
using Solo.Tasks;

namespace Solo.Worker;

/// <summary>
/// The worker host: one receive loop per queue feeds a buffer that <see cref="SoloWorkerOptions.Concurrency"/>
/// runners drain. Receiving stops when the host stops; running tasks get
/// <see cref="SoloWorkerOptions.ShutdownTimeout"/> to finish, then are cancelled and returned to the queue,
/// as are received messages that never started.
/// </summary>
internal sealed class SoloWorker(
    IBroker broker,
    TaskProcessor processor,
    LeaseMonitor leases,
    TaskRegistry registry,
    IOptions<SoloOptions> options,
    IOptions<SoloWorkerOptions> workerOptions,
    TimeProvider time,
    ILogger<SoloWorker> logger) : BackgroundService
{
    private readonly SoloWorkerOptions _options = workerOptions.Value;
    private static readonly TimeSpan FirstReceiveRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LongestReceiveRetry = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _hardStop = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _options.Validate();
        var queues = _options.Queues.Count > 0
            ? _options.Queues.Distinct(StringComparer.Ordinal).ToArray()
            : registry.All.Select(r => r.Queue).OfType<string>().Append(options.Value.DefaultQueue).Distinct(StringComparer.Ordinal).ToArray();

        // Permits bound what this process holds: running tasks plus prefetched messages.
        var capacity = _options.Concurrency + _options.EffectivePrefetch;
        using var permits = new SemaphoreSlim(capacity, capacity);
        var buffer = Channel.CreateUnbounded<TaskLease>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = queues.Length == 1 });

        logger.LogInformation("Solo worker started: queues {Queues}, concurrency {Concurrency}, prefetch {Prefetch}", string.Join(",", queues), _options.Concurrency, _options.EffectivePrefetch);
        var runners = Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(() => RunnerAsync(buffer.Reader, permits, stoppingToken), CancellationToken.None)).ToArray();
        var receivers = queues.Select(q => Task.Run(() => ReceiveLoopAsync(q, buffer.Writer, permits, capacity, stoppingToken), CancellationToken.None)).ToArray();

        await Task.WhenAll(receivers).ConfigureAwait(false);
        buffer.Writer.Complete();

        var drained = Task.WhenAll(runners);
        if (await Task.WhenAny(drained, Task.Delay(_options.ShutdownTimeout, time)).ConfigureAwait(false) != drained)
        {
            logger.LogWarning("Shutdown timeout ({Timeout}) reached; cancelling running tasks and returning them to the queue", _options.ShutdownTimeout);
            await _hardStop.CancelAsync().ConfigureAwait(false);
        }

        await drained.ConfigureAwait(false);
        logger.LogInformation("Solo worker stopped");
    }

    public override void Dispose()
    {
        _hardStop.Dispose();
        base.Dispose();
    }

    private async Task ReceiveLoopAsync(string queue, ChannelWriter<TaskLease> buffer, SemaphoreSlim permits, int capacity, CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await permits.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var taken = 1;
            while (taken < Math.Min(capacity, 64) && permits.Wait(0))
            {
                taken++;
            }

            IReadOnlyList<IDelivery> deliveries;
            var sentAt = time.GetTimestamp();
            try
            {
                deliveries = await broker.ReceiveAsync(queue, taken, _options.ReceiveWait, stoppingToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                permits.Release(taken);
                return;
            }
            catch (Exception ex)
            {
                permits.Release(taken);
                failures++;
                var wait = Backoff.ForAttempt(failures, FirstReceiveRetry, LongestReceiveRetry);
                logger.LogError(ex, "Receiving from queue {Queue} failed; retrying in {Wait}", queue, wait);
                try
                {
                    await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            if (deliveries.Count < taken)
            {
                permits.Release(taken - deliveries.Count);
            }

            foreach (var delivery in deliveries)
            {
                // Held from the moment the receive was sent: the broker's lease began no earlier.
                buffer.TryWrite(leases.Track(delivery, sentAt));
            }
        }
    }

    private async Task RunnerAsync(ChannelReader<TaskLease> buffer, SemaphoreSlim permits, CancellationToken stoppingToken)
    {
        await foreach (var lease in buffer.ReadAllAsync().ConfigureAwait(false))
        {
            var delivery = lease.Delivery;
            try
            {
                if (!lease.IsHeld)
                {
                    // Its lease was lost while it waited: another consumer may have it by now.
                    LeaseLog.LostWhileWaiting(logger, delivery.MessageId);
                    continue;
                }

                if (stoppingToken.IsCancellationRequested)
                {
                    // Received but not started before shutdown: hand it back untouched.
                    await delivery.RequeueAsync(new OutgoingMessage(delivery.MessageId, delivery.Queue, delivery.Body), CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                await processor.ProcessAsync(lease, _hardStop.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // One message must never take the worker down; its lease brings it back.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogError(ex, "Processing message {MessageId} failed unexpectedly", delivery.MessageId);
            }
            finally
            {
                await lease.DisposeAsync().ConfigureAwait(false);
                permits.Release();
            }
        }
    }
}
