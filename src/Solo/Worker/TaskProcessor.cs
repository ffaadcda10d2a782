using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Solo.Brokers;
using Solo.Locks;
using Solo.Messages;
using Solo.Tasks;
using Solo.Uniqueness;

namespace Solo.Worker;

/// <summary>
/// Runs one delivered message to its end: decode, take the unique slots, run through the middleware,
/// then ack, retry, reschedule or dead-letter, and release what the task owns. It never throws for
/// anything a message contains: bad input is dead-lettered with its reason.
/// </summary>
internal sealed class TaskProcessor(
    TaskRegistry registry,
    IBroker broker,
    ILockStore locks,
    IServiceScopeFactory scopes,
    IOptions<SoloOptions> options,
    IOptions<SoloWorkerOptions> workerOptions,
    TimeProvider time,
    IEnumerable<ISoloMiddleware> middlewares,
    ILogger<TaskProcessor> logger)
{
    private readonly SoloOptions _options = options.Value;
    private readonly SoloWorkerOptions _workerOptions = workerOptions.Value;
    private readonly TaskSlots _slots = new(locks, options.Value.LockPrefix);
    private readonly ISoloMiddleware[] _middlewares = middlewares.ToArray();

    /// <param name="delivery">The message.</param>
    /// <param name="hardStop">Fires when shutdown stops waiting for running tasks: they go back to the queue.</param>
    public async Task ProcessAsync(IDelivery delivery, CancellationToken hardStop)
    {
        Envelope envelope;
        try
        {
            envelope = EnvelopeSerializer.Deserialize(delivery.Body);
        }
        catch (InvalidEnvelopeException ex)
        {
            await DeadLetterAsync(delivery, ex.Message).ConfigureAwait(false);
            return;
        }

        var registration = registry.FindByName(envelope.Task);
        if (registration is null)
        {
            await DeadLetterAsync(delivery, $"unknown task '{envelope.Task}': no task of that name is registered in this worker").ConfigureAwait(false);
            await ReleaseAsync(null, envelope, started: false).ConfigureAwait(false);
            return;
        }

        object? args;
        try
        {
            args = envelope.Args.Deserialize(registration.ArgsType, _options.JsonSerializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            args = null;
            logger.LogDebug(ex, "Arguments of task {TaskId} do not deserialize", envelope.Id);
        }

        if (args is null)
        {
            await DeadLetterAsync(delivery, $"arguments of task '{registration.Name}' do not deserialize into {registration.ArgsType.Name}: {envelope.Args.GetRawText()}").ConfigureAwait(false);
            await ReleaseAsync(registration.Unique, envelope, started: false).ConfigureAwait(false);
            return;
        }

        try
        {
            await RunAsync(delivery, envelope, registration, args, hardStop).ConfigureAwait(false);
        }
        catch (Exception ex) when (!hardStop.IsCancellationRequested)
        {
            // A broker or lock store fault while settling: the message is still leased and comes back.
            logger.LogError(ex, "Task {TaskId} ({Task}) could not be settled; the broker will deliver it again", envelope.Id, envelope.Task);
        }
    }

    private async Task RunAsync(IDelivery delivery, Envelope envelope, TaskRegistration registration, object args, CancellationToken hardStop)
    {
        var unique = envelope.Key is null ? null : registration.Unique;
        long? fence = null;
        if (unique is not null)
        {
            var start = await _slots.StartAsync(unique, envelope.Key!, envelope.Id, envelope.Fence, envelope.Attempt == 1 && delivery.DeliveryCount == 1, hardStop).ConfigureAwait(false);
            if (start.Outcome == SlotStartOutcome.Superseded)
            {
                logger.LogDebug("Task {TaskId} was replaced by {Holder} and is dropped", envelope.Id, start.Holder);
                await delivery.AckAsync(CancellationToken.None).ConfigureAwait(false);
                await ReleaseAsync(unique, envelope, started: true).ConfigureAwait(false);
                return;
            }

            if (start.Outcome == SlotStartOutcome.Conflict)
            {
                await StartConflictAsync(delivery, envelope, unique, start.Holder ?? "(unknown)", hardStop).ConfigureAwait(false);
                return;
            }

            fence = start.Fence;
        }

        using var leaseLost = new CancellationTokenSource();
        using var timeout = registration.Timeout is { } t ? new CancellationTokenSource(t, time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(hardStop, leaseLost.Token, timeout.Token);
        using var done = new CancellationTokenSource();
        var renewal = RenewWhileRunningAsync(delivery, envelope, unique, leaseLost, done.Token);

        Exception? failure = null;
        try
        {
            var scope = scopes.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                var context = new TaskContext(envelope.Id, registration.Name, delivery.Queue, envelope.Attempt, registration.MaxAttempts, envelope.Key, fence, envelope.EnqueuedAt, args, scope.ServiceProvider);
                await InvokeAsync(registration, context, 0, linked.Token).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // A task's failure, whatever it is, is the task's outcome, not the worker's.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
        }

        if (failure is null)
        {
            // Release, then ack: a crash in between redelivers the task, which runs again (after,
            // never beside); the other order would leave its slot locked until the TTL.
            await ReleaseAsync(unique, envelope, started: true).ConfigureAwait(false);
            await delivery.AckAsync(CancellationToken.None).ConfigureAwait(false);
            return;
        }

        if (hardStop.IsCancellationRequested)
        {
            // Shutdown gave up waiting: back to the queue as it was; its slots stay, it reclaims them.
            logger.LogWarning("Task {TaskId} ({Task}) was cancelled by shutdown and returns to the queue", envelope.Id, envelope.Task);
            await delivery.RequeueAsync(new OutgoingMessage(envelope.Id, delivery.Queue, delivery.Body), CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var reason = leaseLost.IsCancellationRequested ? "its lease was lost" : timeout.IsCancellationRequested ? $"it timed out after {registration.Timeout}" : $"{failure.GetType().Name}: {failure.Message}";
        if (envelope.Attempt < registration.MaxAttempts)
        {
            var delay = Backoff.ForAttempt(envelope.Attempt, registration.RetryBaseDelay, registration.RetryMaxDelay);
            logger.LogWarning(failure, "Task {TaskId} ({Task}) attempt {Attempt} of {MaxAttempts} failed ({Reason}); retrying in {Delay}", envelope.Id, envelope.Task, envelope.Attempt, registration.MaxAttempts, reason, delay);
            if (unique is not null)
            {
                // A retry is still pending: it keeps its slots for the backoff and the next run.
                await _slots.RenewRunningAsync(unique, envelope.Key!, envelope.Id, delay + unique.RunLease, CancellationToken.None).ConfigureAwait(false);
            }

            await RequeueAsync(delivery, envelope with { Attempt = envelope.Attempt + 1 }, delay).ConfigureAwait(false);
            return;
        }

        logger.LogError(failure, "Task {TaskId} ({Task}) failed on its last attempt ({Attempt}); dead-lettered", envelope.Id, envelope.Task, envelope.Attempt);
        await ReleaseAsync(unique, envelope, started: true).ConfigureAwait(false);
        await DeadLetterAsync(delivery, $"failed after {envelope.Attempt} attempt(s): {reason}").ConfigureAwait(false);
    }

    private async Task StartConflictAsync(IDelivery delivery, Envelope envelope, UniquePolicy unique, string holder, CancellationToken cancellationToken)
    {
        switch (unique.OnStartConflict)
        {
            case Conflict.Reschedule:
                var delay = Backoff.Jitter(unique.RescheduleDelay);
                if (await _slots.HoldQueueSlotAsync(unique, envelope.Key!, envelope.Id, unique.QueueSlotTtl + delay, cancellationToken).ConfigureAwait(false))
                {
                    await RequeueAsync(delivery, envelope, delay).ConfigureAwait(false);
                }
                else
                {
                    // Another pending task of this key holds the queue slot; it runs later and covers this one.
                    logger.LogDebug("Task {TaskId} is covered by pending task of key {Key} and is dropped", envelope.Id, envelope.Key);
                    await delivery.AckAsync(CancellationToken.None).ConfigureAwait(false);
                }

                return;
            case Conflict.Throw:
                await DeadLetterAsync(delivery, new UniqueConflictException(envelope.Key!, holder).Message).ConfigureAwait(false);
                await ReleaseAsync(unique, envelope, started: false).ConfigureAwait(false);
                return;
            default:
                await delivery.AckAsync(CancellationToken.None).ConfigureAwait(false);
                await ReleaseAsync(unique, envelope, started: false).ConfigureAwait(false);
                return;
        }
    }

    private async Task RenewWhileRunningAsync(IDelivery delivery, Envelope envelope, UniquePolicy? unique, CancellationTokenSource leaseLost, CancellationToken done)
    {
        var lease = unique?.RunLease ?? Timeout.InfiniteTimeSpan;

        // Renew each lease at a third of its length, so that one late or failed renewal is survivable.
        var period = _workerOptions.DeliveryRenewInterval;
        if (broker.DeliveryLease is { } deliveryLease && deliveryLease / 3 < period)
        {
            period = deliveryLease / 3;
        }

        if (unique is not null && lease / 3 < period)
        {
            period = lease / 3;
        }

        var lastRenewed = time.GetUtcNow();
        while (!done.IsCancellationRequested)
        {
            // Every run ends by cancelling this wait: suppress the exception rather than pay for it per task.
            await Task.Delay(period, time, done).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (done.IsCancellationRequested)
            {
                return;
            }

            try
            {
                // A delivery whose lease was lost may be running elsewhere already, as the same task id
                // that owns the slots: this run must stop.
                if (!await delivery.RenewAsync(done).ConfigureAwait(false))
                {
                    logger.LogWarning("Task {TaskId} lost its delivery lease; cancelling it", envelope.Id);
                    await leaseLost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Renewing the delivery of task {TaskId} failed", envelope.Id);
            }

            if (unique is null)
            {
                continue;
            }

            bool? renewed;
            try
            {
                renewed = await _slots.RenewRunningAsync(unique, envelope.Key!, envelope.Id, lease, done).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                // Unknown: the store may be briefly away. Only a lease that surely ended cancels the task.
                logger.LogWarning(ex, "Renewing the lease of task {TaskId} failed", envelope.Id);
                renewed = null;
            }

            var now = time.GetUtcNow();
            if (renewed == true)
            {
                lastRenewed = now;
            }
            else if (renewed == false || now - lastRenewed >= lease)
            {
                logger.LogWarning("Task {TaskId} lost its lease on {Key}; cancelling it", envelope.Id, envelope.Key);
                await leaseLost.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    private ValueTask InvokeAsync(TaskRegistration registration, TaskContext context, int index, CancellationToken cancellationToken)
    {
        if (index == _middlewares.Length)
        {
            return new ValueTask(registration.Invoke(context.Services, context.Args, context, cancellationToken));
        }

        return _middlewares[index].OnRunAsync(context, () => InvokeAsync(registration, context, index + 1, cancellationToken), cancellationToken);
    }

    private ValueTask RequeueAsync(IDelivery delivery, Envelope envelope, TimeSpan delay) =>
        delivery.RequeueAsync(new OutgoingMessage(envelope.Id, delivery.Queue, EnvelopeSerializer.Serialize(envelope), time.GetUtcNow() + delay), CancellationToken.None);

    private async Task DeadLetterAsync(IDelivery delivery, string reason)
    {
        logger.LogWarning("Message {MessageId} of queue {Queue} dead-lettered: {Reason}", delivery.MessageId, delivery.Queue, reason);
        await delivery.DeadLetterAsync(reason, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task ReleaseAsync(UniquePolicy? unique, Envelope envelope, bool started)
    {
        if (envelope.Key is not null)
        {
            await _slots.ReleaseAsync(unique, envelope.Key, envelope.Id, started, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
