using Solo.Locks;

namespace Solo.Uniqueness;

/// <summary>The worker's side of a unique task's slots: take at start, renew while running, release at the end.</summary>
internal sealed class TaskSlots(ILockStore locks, string prefix)
{
    /// <param name="policy">The task's uniqueness rules.</param>
    /// <param name="uniqueKey">Its key.</param>
    /// <param name="taskId">Its id, the owner of its slots.</param>
    /// <param name="enqueueFence">The token its queue slot got at enqueue.</param>
    /// <param name="firstTry">
    /// True for a first attempt on its first delivery: such a task has never started, so a pending
    /// task that can be superseded must still own its queue slot to run.
    /// </param>
    /// <param name="cancellationToken">Cancels the lock store calls.</param>
    public async ValueTask<SlotStart> StartAsync(UniquePolicy policy, string uniqueKey, string taskId, long? enqueueFence, bool firstTry, CancellationToken cancellationToken)
    {
        var queueKey = LockKeys.Queue(prefix, uniqueKey);
        if (policy.CanBeSuperseded)
        {
            var holder = await locks.GetAsync(queueKey, cancellationToken).ConfigureAwait(false);
            if (holder is not null && holder.Owner != taskId)
            {
                return new SlotStart(SlotStartOutcome.Superseded, null, holder.Owner);
            }

            // A free slot here means a newer task took it over and has started already (its run
            // covers this one). A retry or redelivery may have given its slot up at its own start.
            if (holder is null && firstTry)
            {
                return new SlotStart(SlotStartOutcome.Superseded, null, null);
            }
        }

        switch (policy.Mode)
        {
            case UniqueMode.UntilExecuting:
                await locks.ReleaseAsync(queueKey, taskId, cancellationToken).ConfigureAwait(false);
                return new SlotStart(SlotStartOutcome.Run, enqueueFence, null);
            case UniqueMode.Throttle:
                return new SlotStart(SlotStartOutcome.Run, enqueueFence, null);
            case UniqueMode.UntilExecuted:
                // Re-taking our own slot (a no-op for the owner) also covers a redelivery after a crash,
                // and shortens its TTL to the run lease so a killed worker's slot frees itself soon.
                return ToStart(await locks.TryAcquireAsync(queueKey, taskId, policy.RunLease, cancellationToken).ConfigureAwait(false));
            case UniqueMode.WhileExecuting:
                return ToStart(await locks.TryAcquireAsync(LockKeys.Run(prefix, uniqueKey), taskId, policy.RunLease, cancellationToken).ConfigureAwait(false));
            default:
                // Coalesce and Debounce: swap the queue slot for the run slot in one step, so an enqueue
                // either meets our queue slot (and we have not started reading yet) or finds it free.
                return ToStart(await locks.TryAcquireAndReleaseAsync(LockKeys.Run(prefix, uniqueKey), queueKey, taskId, policy.RunLease, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>Renews the slot a running task holds. False when it was lost.</summary>
    public ValueTask<bool> RenewRunningAsync(UniquePolicy policy, string uniqueKey, string taskId, TimeSpan ttl, CancellationToken cancellationToken) => policy.Mode switch
    {
        UniqueMode.UntilExecuted => locks.RenewAsync(LockKeys.Queue(prefix, uniqueKey), taskId, ttl, cancellationToken),
        UniqueMode.WhileExecuting or UniqueMode.Coalesce or UniqueMode.Debounce => locks.RenewAsync(LockKeys.Run(prefix, uniqueKey), taskId, ttl, cancellationToken),
        _ => ValueTask.FromResult(true),
    };

    /// <summary>
    /// Before a reschedule at start: keeps (or takes back) the queue slot so the task stays the pending
    /// one of its key. False when another pending task holds it: that one covers this one, which can go.
    /// </summary>
    public async ValueTask<bool> HoldQueueSlotAsync(UniquePolicy policy, string uniqueKey, string taskId, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (!policy.HasQueueSlot || policy.Mode == UniqueMode.Throttle)
        {
            return true;
        }

        var queueKey = LockKeys.Queue(prefix, uniqueKey);
        if (policy.CanBeSuperseded)
        {
            // It must still own the slot: a free one was taken over by a newer task that has started.
            return await locks.RenewAsync(queueKey, taskId, ttl, cancellationToken).ConfigureAwait(false);
        }

        var result = await locks.TryAcquireAsync(queueKey, taskId, ttl, cancellationToken).ConfigureAwait(false);
        return result.Acquired;
    }

    /// <summary>Releases what a task that ran (or tried to) owns. Throttle windows are never released.</summary>
    public async ValueTask ReleaseAsync(UniquePolicy? policy, string uniqueKey, string taskId, bool started, CancellationToken cancellationToken)
    {
        if (policy?.Mode == UniqueMode.Throttle)
        {
            return;
        }

        if (policy is null || policy.HasRunSlot)
        {
            await locks.ReleaseAsync(LockKeys.Run(prefix, uniqueKey), taskId, cancellationToken).ConfigureAwait(false);
        }

        // A started Coalesce/Debounce/UntilExecuting task gave its queue slot up at start; skip the round trip.
        if (policy is null || policy.Mode == UniqueMode.UntilExecuted || (!started && policy.HasQueueSlot))
        {
            await locks.ReleaseAsync(LockKeys.Queue(prefix, uniqueKey), taskId, cancellationToken).ConfigureAwait(false);
        }
    }

    private static SlotStart ToStart(LockResult result) => result.Acquired
        ? new SlotStart(SlotStartOutcome.Run, result.FencingToken, null)
        : new SlotStart(SlotStartOutcome.Conflict, null, result.Owner);
}
