using Solo.Locks;

namespace Solo.Uniqueness;

/// <summary>
/// The worker's side of a unique task's slots: take at start, renew while running, hold at a reschedule,
/// release at the end. Every renewal and release names the fencing token the slot was taken with, so only
/// the copy that took it last can keep or free it: a stale copy of the same task, or a message that merely
/// carries its id, cannot.
/// </summary>
internal sealed class TaskSlots(ILockStore locks, string prefix)
{
    /// <param name="policy">The task's uniqueness rules.</param>
    /// <param name="uniqueKey">Its key.</param>
    /// <param name="taskId">Its id, the owner of its slots.</param>
    /// <param name="queueFence">The token its queue slot got at enqueue (or at its last reschedule).</param>
    /// <param name="firstTry">
    /// True for a first attempt on its first delivery: such a task has never started, so a pending
    /// task that can be superseded must still own its queue slot to run.
    /// </param>
    /// <param name="cancellationToken">Cancels the lock store calls.</param>
    public async ValueTask<SlotStart> StartAsync(UniquePolicy policy, string uniqueKey, string taskId, long? queueFence, bool firstTry, CancellationToken cancellationToken)
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
                if (queueFence is { } fence)
                {
                    await locks.ReleaseAsync(queueKey, taskId, fence, cancellationToken).ConfigureAwait(false);
                }

                return new SlotStart(SlotStartOutcome.Run, queueFence, null);
            case UniqueMode.Throttle:
                return new SlotStart(SlotStartOutcome.Run, queueFence, null);
            case UniqueMode.UntilExecuted:
                // Re-taking our own slot (a no-op for the owner) also covers a redelivery after a crash,
                // and shortens its TTL to the run lease so a killed worker's slot frees itself soon.
                return ToStart(await locks.TryAcquireAsync(queueKey, taskId, policy.RunLease, cancellationToken).ConfigureAwait(false));
            case UniqueMode.WhileExecuting:
                return ToStart(await locks.TryAcquireAsync(LockKeys.Run(prefix, uniqueKey), taskId, policy.RunLease, cancellationToken).ConfigureAwait(false));
            default:
                // Coalesce and Debounce: swap the queue slot for the run slot in one step, so an enqueue
                // either meets our queue slot (and we have not started reading yet) or finds it free. The
                // queue slot goes whatever its token: a copy of this task killed between re-taking it at a
                // reschedule and requeueing left a token this message does not carry, and the start (whose
                // lease the caller proves right after) consumes the pending slot of its id all the same.
                return ToStart(await locks.TryAcquireAndReleaseAsync(LockKeys.Run(prefix, uniqueKey), queueKey, taskId, null, policy.RunLease, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>True when the running task holds a slot of its own that must be renewed (and released at the end).</summary>
    public static bool HoldsSlotWhileRunning(UniquePolicy policy) =>
        policy.Mode is UniqueMode.UntilExecuted or UniqueMode.WhileExecuting or UniqueMode.Coalesce or UniqueMode.Debounce;

    /// <summary>Renews the slot a running task holds with <paramref name="runFence"/>. False when it was lost.</summary>
    public ValueTask<bool> RenewRunningAsync(UniquePolicy policy, string uniqueKey, string taskId, long runFence, TimeSpan ttl, CancellationToken cancellationToken) => policy.Mode switch
    {
        UniqueMode.UntilExecuted => locks.RenewAsync(LockKeys.Queue(prefix, uniqueKey), taskId, runFence, ttl, cancellationToken),
        UniqueMode.WhileExecuting or UniqueMode.Coalesce or UniqueMode.Debounce => locks.RenewAsync(LockKeys.Run(prefix, uniqueKey), taskId, runFence, ttl, cancellationToken),
        _ => ValueTask.FromResult(true),
    };

    /// <summary>
    /// Before a reschedule at start: keeps (or takes back) the queue slot so the task stays the pending
    /// one of its key. Returns whether it holds the slot, and the token the rescheduled message must
    /// carry; not held when another pending task holds it: that one covers this one, which can go.
    /// </summary>
    public async ValueTask<(bool Held, long? Fence, bool Retaken)> HoldQueueSlotAsync(UniquePolicy policy, string uniqueKey, string taskId, long? queueFence, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (!policy.HasQueueSlot || policy.Mode == UniqueMode.Throttle)
        {
            return (true, queueFence, false);
        }

        var queueKey = LockKeys.Queue(prefix, uniqueKey);
        if (policy.CanBeSuperseded)
        {
            // It must still own the slot with its token: a free one was taken over by a newer task that has started.
            var renewed = queueFence is { } fence && await locks.RenewAsync(queueKey, taskId, fence, ttl, cancellationToken).ConfigureAwait(false);
            return (renewed, queueFence, false);
        }

        var result = await locks.TryAcquireAsync(queueKey, taskId, ttl, cancellationToken).ConfigureAwait(false);
        return result.Acquired ? (true, result.FencingToken, true) : (false, null, false);
    }

    /// <summary>Frees a queue slot taken back by <see cref="HoldQueueSlotAsync"/> whose reschedule may not have happened.</summary>
    public async ValueTask UndoHoldAsync(string uniqueKey, string taskId, long fence, CancellationToken cancellationToken) =>
        await locks.ReleaseAsync(LockKeys.Queue(prefix, uniqueKey), taskId, fence, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Frees the slot a start took (by <see cref="StartAsync"/>), when the start may have run after the
    /// delivery's lease ended: the task must not run, and its redelivery takes the slot again.
    /// </summary>
    public async ValueTask UndoStartAsync(UniquePolicy policy, string uniqueKey, string taskId, long runFence, CancellationToken cancellationToken)
    {
        if (policy.Mode == UniqueMode.UntilExecuted)
        {
            await locks.ReleaseAsync(LockKeys.Queue(prefix, uniqueKey), taskId, runFence, cancellationToken).ConfigureAwait(false);
        }
        else if (policy.HasRunSlot)
        {
            await locks.ReleaseAsync(LockKeys.Run(prefix, uniqueKey), taskId, runFence, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Releases what a task owns at its end: the slot it ran under (taken with <paramref name="runFence"/>)
    /// when it started, else its queue slot (taken with <paramref name="queueFence"/>). Throttle windows
    /// are never released. With no policy (a task this worker does not know), only a queue slot that the
    /// message proves it holds, by its id and token, is released.
    /// </summary>
    public async ValueTask ReleaseAsync(UniquePolicy? policy, string uniqueKey, string taskId, long? queueFence, long? runFence, CancellationToken cancellationToken)
    {
        if (policy?.Mode == UniqueMode.Throttle)
        {
            return;
        }

        if (runFence is { } run && policy is not null && HoldsSlotWhileRunning(policy))
        {
            await UndoStartAsync(policy, uniqueKey, taskId, run, cancellationToken).ConfigureAwait(false);
            return;
        }

        // A started Coalesce/Debounce/UntilExecuting task gave its queue slot up at start.
        if (runFence is null && queueFence is { } queue && (policy is null || policy.HasQueueSlot))
        {
            await locks.ReleaseAsync(LockKeys.Queue(prefix, uniqueKey), taskId, queue, cancellationToken).ConfigureAwait(false);
        }
    }

    private static SlotStart ToStart(LockResult result) => result.Acquired
        ? new SlotStart(SlotStartOutcome.Run, result.FencingToken, null)
        : new SlotStart(SlotStartOutcome.Conflict, null, result.Owner);
}
