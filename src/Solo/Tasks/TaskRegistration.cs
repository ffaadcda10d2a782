using Solo.Uniqueness;

namespace Solo.Tasks;

/// <summary>A registered task: name, types and policies, frozen at registration.</summary>
internal sealed class TaskRegistration
{
    public required string Name { get; init; }

    public required Type ArgsType { get; init; }

    public required Type TaskType { get; init; }

    public string? Queue { get; init; }

    public required int MaxAttempts { get; init; }

    public required TimeSpan RetryBaseDelay { get; init; }

    public required TimeSpan RetryMaxDelay { get; init; }

    public TimeSpan? Timeout { get; init; }

    public UniquePolicy? Unique { get; init; }

    /// <summary>Resolves the task from the run's scope and runs it.</summary>
    public required Func<IServiceProvider, object, TaskContext, CancellationToken, Task> Invoke { get; init; }
}
