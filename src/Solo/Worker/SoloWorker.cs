using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Solo.Brokers;
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
    TaskRegistry registry,
    IOptions<SoloOptions> options,
    IOptions<SoloWorkerOptions> workerOptions,
    TimeProvider time,
    ILogger<SoloWorker> logger) : BackgroundService
{
    private readonly SoloWorkerOptions _options = workerOptions.Value;
    private readonly CancellationTokenSource _hardStop = new();

    // Received messages that wait in the buffer for a free runner. Their leases run meanwhile, so they are
    // renewed like running tasks; one whose lease was lost is dropped here, and the broker delivers it again.
    private readonly ConcurrentDictionary<IDelivery, byte> _waiting = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _options.Validate();
        var queues = _options.Queues.Count > 0
            ? _options.Queues.Distinct(StringComparer.Ordinal).ToArray()
            : registry.All.Select(r => r.Queue).OfType<string>().Append(options.Value.DefaultQueue).Distinct(StringComparer.Ordinal).ToArray();

        // Permits bound what this process holds: running tasks plus prefetched messages.
        var capacity = _options.Concurrency + _options.EffectivePrefetch;
        using var permits = new SemaphoreSlim(capacity, capacity);
        var buffer = Channel.CreateUnbounded<IDelivery>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = queues.Length == 1 });

        logger.LogInformation("Solo worker started: queues {Queues}, concurrency {Concurrency}, prefetch {Prefetch}", string.Join(",", queues), _options.Concurrency, _options.EffectivePrefetch);
        var runners = Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(() => RunnerAsync(buffer.Reader, permits, stoppingToken), CancellationToken.None)).ToArray();
        var receivers = queues.Select(q => Task.Run(() => ReceiveLoopAsync(q, buffer.Writer, permits, capacity, stoppingToken), CancellationToken.None)).ToArray();
        using var runnersDone = new CancellationTokenSource();
        var renewing = Task.Run(() => RenewWaitingAsync(runnersDone.Token), CancellationToken.None);

        await Task.WhenAll(receivers).ConfigureAwait(false);
        buffer.Writer.Complete();

        var drained = Task.WhenAll(runners);
        if (await Task.WhenAny(drained, Task.Delay(_options.ShutdownTimeout, time)).ConfigureAwait(false) != drained)
        {
            logger.LogWarning("Shutdown timeout ({Timeout}) reached; cancelling running tasks and returning them to the queue", _options.ShutdownTimeout);
            await _hardStop.CancelAsync().ConfigureAwait(false);
        }

        await drained.ConfigureAwait(false);
        await runnersDone.CancelAsync().ConfigureAwait(false);
        await renewing.ConfigureAwait(false);
        logger.LogInformation("Solo worker stopped");
    }

    public override void Dispose()
    {
        _hardStop.Dispose();
        base.Dispose();
    }

    private async Task ReceiveLoopAsync(string queue, ChannelWriter<IDelivery> buffer, SemaphoreSlim permits, int capacity, CancellationToken stoppingToken)
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
                var wait = TimeSpan.FromMilliseconds(Math.Min(100 * Math.Pow(2, Math.Min(failures, 10)), 5000));
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
                _waiting.TryAdd(delivery, 0);
                buffer.TryWrite(delivery);
            }
        }
    }

    /// <summary>Renews the leases of messages waiting in the buffer, at a third of the shortest lease, until the runners are done.</summary>
    private async Task RenewWaitingAsync(CancellationToken done)
    {
        var period = _options.DeliveryRenewInterval;
        if (broker.DeliveryLease is { } lease && lease / 3 < period)
        {
            period = lease / 3;
        }

        while (!done.IsCancellationRequested)
        {
            await Task.Delay(period, time, done).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var delivery in _waiting.Keys)
            {
                bool renewed;
                try
                {
                    renewed = await delivery.RenewAsync(CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // A failed renewal is retried next period; the lease is the arbiter.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    logger.LogDebug(ex, "Renewing waiting message {MessageId} failed", delivery.MessageId);
                    continue;
                }

                if (!renewed)
                {
                    _waiting.TryRemove(delivery, out _);
                }
            }
        }
    }

    private async Task RunnerAsync(ChannelReader<IDelivery> buffer, SemaphoreSlim permits, CancellationToken stoppingToken)
    {
        await foreach (var delivery in buffer.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (!_waiting.TryRemove(delivery, out _))
                {
                    // Its lease was lost while it waited: another consumer may have it by now.
                    logger.LogWarning("Message {MessageId} lost its lease while it waited for a free runner; it is left to its redelivery", delivery.MessageId);
                    continue;
                }

                if (stoppingToken.IsCancellationRequested)
                {
                    // Received but not started before shutdown: hand it back untouched.
                    await delivery.RequeueAsync(new OutgoingMessage(delivery.MessageId, delivery.Queue, delivery.Body), CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                await processor.ProcessAsync(delivery, _hardStop.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // One message must never take the worker down; its lease brings it back.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogError(ex, "Processing message {MessageId} failed unexpectedly", delivery.MessageId);
            }
            finally
            {
                permits.Release();
            }
        }
    }
}
