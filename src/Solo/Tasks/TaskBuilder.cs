using Microsoft.Extensions.DependencyInjection;
using Solo.Tasks;
using Solo.Uniqueness;

namespace Solo;

/// <summary>Configures one registered task.</summary>
/// <typeparam name="TArgs">The task's arguments.</typeparam>
public sealed class TaskBuilder<TArgs>
{
    private UniquePolicy? _unique;
    private int _maxAttempts = 3;
    private TimeSpan _retryBaseDelay = TimeSpan.FromSeconds(1);
    private TimeSpan _retryMaxDelay = TimeSpan.FromMinutes(5);
    private TimeSpan? _timeout;
    private string? _queue;

    internal TaskBuilder()
    {
    }

    /// <summary>Makes the task unique per key. See <see cref="UniqueBuilder{TArgs}"/>.</summary>
    public TaskBuilder<TArgs> Unique(Action<UniqueBuilder<TArgs>>? configure = null)
    {
        var builder = new UniqueBuilder<TArgs>();
        configure?.Invoke(builder);
        _unique = builder.Build();
        return this;
    }

    /// <summary>
    /// Attempts before the task is dead-lettered (default 3), with exponential backoff from
    /// <paramref name="baseDelay"/> (default 1 s) doubled per attempt up to <paramref name="maxDelay"/>
    /// (default 5 min), with jitter.
    /// </summary>
    public TaskBuilder<TArgs> Retry(int maxAttempts, TimeSpan? baseDelay = null, TimeSpan? maxDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        _maxAttempts = maxAttempts;
        _retryBaseDelay = baseDelay ?? _retryBaseDelay;
        _retryMaxDelay = maxDelay ?? _retryMaxDelay;
        ArgumentOutOfRangeException.ThrowIfLessThan(_retryBaseDelay, TimeSpan.Zero, nameof(baseDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(_retryMaxDelay, _retryBaseDelay, nameof(maxDelay));
        return this;
    }

    /// <summary>Cancels an attempt that runs longer than this; the attempt fails and is retried.</summary>
    public TaskBuilder<TArgs> Timeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _timeout = timeout;
        return this;
    }

    /// <summary>The queue the task is published to (default: <see cref="SoloOptions.DefaultQueue"/>).</summary>
    public TaskBuilder<TArgs> Queue(string queue)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queue);
        _queue = queue;
        return this;
    }

    internal TaskRegistration Build<TTask>(string name)
        where TTask : class, ITask<TArgs> => new()
        {
            Name = name,
            ArgsType = typeof(TArgs),
            TaskType = typeof(TTask),
            Queue = _queue,
            MaxAttempts = _maxAttempts,
            RetryBaseDelay = _retryBaseDelay,
            RetryMaxDelay = _retryMaxDelay,
            Timeout = _timeout,
            Unique = _unique,
            Invoke = static (services, args, context, ct) =>
                services.GetRequiredService<TTask>().RunAsync((TArgs)args, context, ct),
        };
}
