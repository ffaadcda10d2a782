using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Solo.Brokers;
using Solo.Leases;
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
    ILockStore locks,
    IServiceScopeFactory scopes,
    IOptions<SoloOptions> options,
    TimeProvider time,
    IEnumerable<ISoloMiddleware> middlewares,
    ILogger<TaskProcessor> logger)
{
    private readonly SoloOptions _options = options.Value;
    private readonly TaskSlots _slots = new(locks, options.Value.LockPrefix);
    private readonly ISoloMiddleware[] _middlewares = middlewares.ToArray();

    /// <param name="lease">The message and the leases this copy holds on it.</param>
    /// <param name="hardStop">Fires when shutdown stops waiting for running tasks: they go back to the queue.</param>
    public async Task ProcessAsync(TaskLease lease, CancellationToken hardStop)
    {
        var delivery = lease.Delivery;
        Envelope envelope;
        try
        {
            envelope = EnvelopeSerializer.Deserialize(delivery.Body);
        }
        catch (InvalidEnvelopeException ex)
        {
            await DeadLetterAsync(lease, null, ex.Message).ConfigureAwait(false);
            return;
        }

        var registration = registry.FindByName(envelope.Task);
        if (registration is null)
        {
            if (await DeadLetterAsync(lease, envelope, $"unknown task '{envelope.Task}': no task of that name is registered in this worker").ConfigureAwait(false))
            {
                await ReleaseAsync(null, envelope, runFence: null).ConfigureAwait(false);
            }

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
            if (await DeadLetterAsync(lease, envelope, $"arguments of task '{registration.Name}' do not deserialize into {registration.ArgsType.Name}: {envelope.Args.GetRawText()}").ConfigureAwait(false))
            {
                await ReleaseAsync(registration.Unique, envelope, runFence: null).ConfigureAwait(false);
            }

            return;
        }

        try
        {
            await RunAsync(lease, envelope, registration, args, hardStop).ConfigureAwait(false);
        }
        catch (Exception ex) when (!hardStop.IsCancellationRequested)
        {
            // A broker or lock store fault while settling: the message is still leased and comes back.
            logger.LogError(ex, "Task {TaskId} ({Task}) could not be settled; the broker will deliver it again", envelope.Id, envelope.Task);
        }
    }

    private async Task RunAsync(TaskLease lease, Envelope envelope, TaskRegistration registration, object args, CancellationToken hardStop)
    {
        var delivery = lease.Delivery;
        var unique = envelope.Key is null ? null : registration.Unique;
        if (!lease.IsHeld)
        {
            Abandon(envelope, "before its start");
            return;
        }

        long? fence = null;
        if (unique is not null)
        {
            var sentAt = time.GetTimestamp();
            var start = await _slots.StartAsync(unique, envelope.Key!, envelope.Id, envelope.Fence, envelope.Attempt == 1 && delivery.DeliveryCount == 1, hardStop).ConfigureAwait(false);

            // Checked after the call: held now proves the start ran while this copy still owned the
            // message, so no redelivery can have started beside it. Otherwise what it took is given back.
            if (!lease.IsHeld)
            {
                if (start is { Outcome: SlotStartOutcome.Run, Fence: { } taken } && TaskSlots.HoldsSlotWhileRunning(unique))
                {
                    await _slots.UndoStartAsync(unique, envelope.Key!, envelope.Id, taken, CancellationToken.None).ConfigureAwait(false);
                }

                Abandon(envelope, "while it started");
                return;
            }

            if (start.Outcome == SlotStartOutcome.Superseded)
            {
                logger.LogDebug("Task {TaskId} was replaced by {Holder} and is dropped", envelope.Id, start.Holder);
                await SettleAsync(lease, envelope, "at its drop", () => delivery.AckAsync(CancellationToken.None)).ConfigureAwait(false);
                return;
            }

            if (start.Outcome == SlotStartOutcome.Conflict)
            {
                await StartConflictAsync(lease, envelope, unique, start.Holder ?? "(unknown)", hardStop).ConfigureAwait(false);
                return;
            }

            fence = start.Fence;
            if (fence is { } runFence && TaskSlots.HoldsSlotWhileRunning(unique))
            {
                lease.AttachSlot(unique.RunLease, sentAt, (ttl, ct) => _slots.RenewRunningAsync(unique, envelope.Key!, envelope.Id, runFence, ttl, ct));
            }
        }

        using var timeout = registration.Timeout is { } t ? new CancellationTokenSource(t, time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(hardStop, lease.Lost, timeout.Token);

        Exception? failure = null;
        try
        {
            var scope = scopes.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                var context = new TaskContext(envelope.Id, registration.Name, delivery.Queue, envelope.Attempt, registration.MaxAttempts, envelope.Key, fence, envelope.EnqueuedAt, args, scope.ServiceProvider, () => lease.IsHeld, lease.Lost);
                await InvokeAsync(registration, context, 0, linked.Token).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // A task's failure, whatever it is, is the task's outcome, not the worker's.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        // From here on this copy settles by itself: a renewal must not race the release below.
        await lease.StopRenewingAsync().ConfigureAwait(false);
        var runFenceHeld = unique is not null && TaskSlots.HoldsSlotWhileRunning(unique) ? fence : null;
        if (!lease.IsHeld && !hardStop.IsCancellationRequested)
        {
            // Its redelivery owns the task and its slots now; acking or releasing would act over it.
            LeaseLog.CompletedAfterLeaseLost(logger, envelope.Id, envelope.Task, envelope.Key);
            return;
        }

        if (failure is null)
        {
            // Release, then ack: a crash in between redelivers the task, which runs again (after,
            // never beside); the other order would leave its slot locked until the TTL.
            await ReleaseAsync(unique, envelope, fence).ConfigureAwait(false);
            await SettleAsync(lease, envelope, "before its ack", () => delivery.AckAsync(CancellationToken.None)).ConfigureAwait(false);
            return;
        }

        if (hardStop.IsCancellationRequested)
        {
            // Shutdown gave up waiting: back to the queue as it was; its slots stay, it reclaims them.
            logger.LogWarning("Task {TaskId} ({Task}) was cancelled by shutdown and returns to the queue", envelope.Id, envelope.Task);
            await SettleAsync(lease, envelope, "at shutdown", () => delivery.RequeueAsync(new OutgoingMessage(envelope.Id, delivery.Queue, delivery.Body), CancellationToken.None)).ConfigureAwait(false);
            return;
        }

        var reason = timeout.IsCancellationRequested ? $"it timed out after {registration.Timeout}" : $"{failure.GetType().Name}: {failure.Message}";
        if (envelope.Attempt < registration.MaxAttempts)
        {
            var delay = Backoff.ForAttempt(envelope.Attempt, registration.RetryBaseDelay, registration.RetryMaxDelay);
            logger.LogWarning(failure, "Task {TaskId} ({Task}) attempt {Attempt} of {MaxAttempts} failed ({Reason}); retrying in {Delay}", envelope.Id, envelope.Task, envelope.Attempt, registration.MaxAttempts, reason, delay);
            if (unique is not null && runFenceHeld is { } held)
            {
                // A retry is still pending: it keeps its slots for the backoff and the next run.
                await _slots.RenewRunningAsync(unique, envelope.Key!, envelope.Id, held, delay + unique.RunLease, CancellationToken.None).ConfigureAwait(false);
            }

            await RequeueAsync(lease, envelope with { Attempt = envelope.Attempt + 1 }, delay, "before its retry").ConfigureAwait(false);
            return;
        }

        logger.LogError(failure, "Task {TaskId} ({Task}) failed on its last attempt ({Attempt}); dead-lettered", envelope.Id, envelope.Task, envelope.Attempt);
        await ReleaseAsync(unique, envelope, fence).ConfigureAwait(false);
        await DeadLetterAsync(lease, envelope, $"failed after {envelope.Attempt} attempt(s): {reason}").ConfigureAwait(false);
    }

    private async Task StartConflictAsync(TaskLease lease, Envelope envelope, UniquePolicy unique, string holder, CancellationToken cancellationToken)
    {
        var delivery = lease.Delivery;
        switch (unique.OnStartConflict)
        {
            case Conflict.Reschedule:
                var delay = Backoff.Jitter(unique.RescheduleDelay);
                var hold = await _slots.HoldQueueSlotAsync(unique, envelope.Key!, envelope.Id, envelope.Fence, unique.QueueSlotTtl + delay, cancellationToken).ConfigureAwait(false);
                if (!hold.Held)
                {
                    // Another pending task of this key holds the queue slot; it runs later and covers this one.
                    logger.LogDebug("Task {TaskId} is covered by pending task of key {Key} and is dropped", envelope.Id, envelope.Key);
                    await SettleAsync(lease, envelope, "at its drop", () => delivery.AckAsync(CancellationToken.None)).ConfigureAwait(false);
                    return;
                }

                // The message must carry the token it holds its slot with now, or its next start could not free it.
                var requeued = await RequeueAsync(lease, envelope with { Fence = hold.Fence }, delay, "at its reschedule").ConfigureAwait(false);
                if (hold.Retaken && hold.Fence is { } fence && (!requeued || !lease.IsHeld))
                {
                    // The requeue may not have happened: no queue slot may stay without a message behind it.
                    await _slots.UndoHoldAsync(envelope.Key!, envelope.Id, fence, CancellationToken.None).ConfigureAwait(false);
                }

                return;
            case Conflict.Throw:
                if (await DeadLetterAsync(lease, envelope, new UniqueConflictException(envelope.Key!, holder).Message).ConfigureAwait(false))
                {
                    await ReleaseAsync(unique, envelope, runFence: null).ConfigureAwait(false);
                }

                return;
            default:
                if (await SettleAsync(lease, envelope, "at its drop", () => delivery.AckAsync(CancellationToken.None)).ConfigureAwait(false))
                {
                    await ReleaseAsync(unique, envelope, runFence: null).ConfigureAwait(false);
                }

                return;
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

    /// <summary>
    /// Settles the message only while this copy still holds its lease; a copy that lost it abandons the
    /// message quietly to its redelivery. Returns whether it settled.
    /// </summary>
    private async Task<bool> SettleAsync(TaskLease lease, Envelope? envelope, string stage, Func<ValueTask> settle)
    {
        if (!lease.IsHeld)
        {
            if (envelope is null)
            {
                LeaseLog.Abandoned(logger, lease.Delivery.MessageId, "(undecodable)", null, stage);
            }
            else
            {
                Abandon(envelope, stage);
            }

            return false;
        }

        await settle().ConfigureAwait(false);
        return true;
    }

    private void Abandon(Envelope envelope, string stage) => LeaseLog.Abandoned(logger, envelope.Id, envelope.Task, envelope.Key, stage);

    private Task<bool> RequeueAsync(TaskLease lease, Envelope envelope, TimeSpan delay, string stage) =>
        SettleAsync(lease, envelope, stage, () => lease.Delivery.RequeueAsync(new OutgoingMessage(envelope.Id, lease.Delivery.Queue, EnvelopeSerializer.Serialize(envelope), time.GetUtcNow() + delay), CancellationToken.None));

    private Task<bool> DeadLetterAsync(TaskLease lease, Envelope? envelope, string reason) =>
        SettleAsync(lease, envelope, "before its dead letter", async () =>
        {
            logger.LogWarning("Message {MessageId} of queue {Queue} dead-lettered: {Reason}", lease.Delivery.MessageId, lease.Delivery.Queue, reason);
            await lease.Delivery.DeadLetterAsync(reason, CancellationToken.None).ConfigureAwait(false);
        });

    /// <param name="unique">The task's rules; null for a task this worker does not know.</param>
    /// <param name="envelope">The message; its id and queue token prove what it may release.</param>
    /// <param name="runFence">The token the run took at start; null when it never started.</param>
    private async Task ReleaseAsync(UniquePolicy? unique, Envelope envelope, long? runFence)
    {
        if (envelope.Key is not null)
        {
            await _slots.ReleaseAsync(unique, envelope.Key, envelope.Id, envelope.Fence, runFence, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
