namespace LoanRecompute;

/// <summary>The parsed command line of <c>simulate</c>. Defaults keep a 10 000-event run to a few seconds.</summary>
internal sealed record SimulationOptions : CommandOptions
{
    public int Events { get; init; } = 10_000;

    public int Loans { get; init; } = 100;

    /// <summary>The mode (echoed in the summary) and its window.</summary>
    public UniqueSettings Unique { get; init; } = UniqueSettings.Default;

    public int Concurrency { get; init; } = 8;

    public int TaskMinMs { get; init; } = 2;

    public int TaskMaxMs { get; init; } = 6;

    /// <summary>How long a task that meets a running one waits before it tries again. Short, so the sample ends soon.</summary>
    public int RescheduleMs { get; init; } = 10;

    public int Seed { get; init; } = 1;

    public int DrainTimeoutSeconds { get; init; } = 30;

    public EventPlan Plan => new(Events, Loans, Seed);

    public WorkPlan Work => new(TaskMinMs, TaskMaxMs, Seed);
}
