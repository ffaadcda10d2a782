using System.Globalization;
using Solo.Uniqueness;

namespace Solo;

/// <summary>Configures how a task is unique. The default mode is <see cref="UniqueMode.Coalesce"/>.</summary>
/// <typeparam name="TArgs">The task's arguments.</typeparam>
public sealed class UniqueBuilder<TArgs>
{
    private UniqueMode _mode = UniqueMode.Coalesce;
    private TimeSpan _window;
    private Conflict? _onConflict;
    private Conflict _onStartConflict = Conflict.Reschedule;
    private TimeSpan _rescheduleDelay = TimeSpan.FromSeconds(1);
    private TimeSpan _queueSlotTtl = TimeSpan.FromHours(1);
    private TimeSpan _runLease = TimeSpan.FromSeconds(30);
    private Func<TArgs, object?>? _key;

    internal UniqueBuilder()
    {
    }

    /// <summary>Held from enqueue until the task starts.</summary>
    public UniqueBuilder<TArgs> UntilExecuting() => SetMode(UniqueMode.UntilExecuting);

    /// <summary>Held from enqueue until the task ends.</summary>
    public UniqueBuilder<TArgs> UntilExecuted() => SetMode(UniqueMode.UntilExecuted);

    /// <summary>Held while the task runs; a second start meets the run slot and is rescheduled.</summary>
    public UniqueBuilder<TArgs> WhileExecuting() => SetMode(UniqueMode.WhileExecuting);

    /// <summary>At most one pending and one running per key; the pending one runs after the running one ends.</summary>
    public UniqueBuilder<TArgs> Coalesce() => SetMode(UniqueMode.Coalesce);

    /// <summary>At most one enqueue per key per <paramref name="window"/>.</summary>
    public UniqueBuilder<TArgs> Throttle(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _window = window;
        return SetMode(UniqueMode.Throttle);
    }

    /// <summary>Starts <paramref name="window"/> after the last enqueue, with the last enqueue's arguments.</summary>
    public UniqueBuilder<TArgs> Debounce(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _window = window;
        return SetMode(UniqueMode.Debounce);
    }

    /// <summary>
    /// Derives the key from the arguments; the unique key is <c>taskName:key</c>. Without a selector
    /// (and without <see cref="EnqueueOptions.UniqueKey"/>) all tasks of this name share one key.
    /// </summary>
    public UniqueBuilder<TArgs> Key(Func<TArgs, object?> selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        _key = selector;
        return this;
    }

    /// <summary>What an enqueue that meets a held queue slot does: Drop (default), Replace or Throw.</summary>
    public UniqueBuilder<TArgs> OnConflict(Conflict conflict)
    {
        if (conflict == Conflict.Reschedule)
        {
            throw new ArgumentException("Conflict.Reschedule applies when a task starts (OnStartConflict), not at enqueue.", nameof(conflict));
        }

        _onConflict = conflict;
        return this;
    }

    /// <summary>What a task that meets a held slot when it starts does: Reschedule (default), Drop or Throw.</summary>
    public UniqueBuilder<TArgs> OnStartConflict(Conflict conflict)
    {
        if (conflict == Conflict.Replace)
        {
            throw new ArgumentException("Conflict.Replace applies at enqueue (OnConflict), not when a task starts.", nameof(conflict));
        }

        _onStartConflict = conflict;
        return this;
    }

    /// <summary>How long a task that met a held slot at start waits before trying again (default 1 s, plus up to 20% jitter).</summary>
    public UniqueBuilder<TArgs> RescheduleDelay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(delay, TimeSpan.Zero);
        _rescheduleDelay = delay;
        return this;
    }

    /// <summary>
    /// The TTL of a queue slot (default 1 hour, plus any delay): how long a pending task can wait in the
    /// queue before its slot expires. A slot whose task was lost for good frees itself after this.
    /// </summary>
    public UniqueBuilder<TArgs> QueueSlotTtl(TimeSpan ttl)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        _queueSlotTtl = ttl;
        return this;
    }

    /// <summary>
    /// The lease of a running task's slot (default 30 s). The worker renews it every third of it while
    /// the task runs; when renewal fails the task's cancellation token fires. A killed worker's slot
    /// frees itself after this, or at once when the broker redelivers the task.
    /// </summary>
    public UniqueBuilder<TArgs> RunLease(TimeSpan lease)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        _runLease = lease;
        return this;
    }

    private UniqueBuilder<TArgs> SetMode(UniqueMode mode)
    {
        _mode = mode;
        return this;
    }

    internal UniquePolicy Build()
    {
        var onConflict = _onConflict ?? (_mode == UniqueMode.Debounce ? Conflict.Replace : Conflict.Drop);
        if (_mode == UniqueMode.Debounce && onConflict != Conflict.Replace)
        {
            throw new InvalidOperationException("Debounce replaces the pending task; its conflict strategy is Replace.");
        }

        var key = _key;
        return new UniquePolicy
        {
            Mode = _mode,
            Window = _window,
            OnConflict = onConflict,
            OnStartConflict = _onStartConflict,
            RescheduleDelay = _rescheduleDelay,
            QueueSlotTtl = _queueSlotTtl,
            RunLease = _runLease,
            KeySelector = key is null ? null : args => Convert.ToString(key((TArgs)args), CultureInfo.InvariantCulture),
        };
    }
}
