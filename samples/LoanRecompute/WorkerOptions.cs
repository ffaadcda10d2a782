namespace LoanRecompute;

/// <summary>The parsed command line of <c>worker</c>.</summary>
internal sealed record WorkerOptions : CommandOptions
{
    /// <summary>A mode or window named here must match the database's; none means "the database's".</summary>
    public RequestedSettings Requested { get; init; } = RequestedSettings.None;

    public int Concurrency { get; init; } = 8;

    public int TaskMinMs { get; init; } = 2;

    public int TaskMaxMs { get; init; } = 6;

    public int RescheduleMs { get; init; } = 10;

    /// <summary>The broker's delivery lease: how soon a killed worker's messages come back.</summary>
    public int LeaseSeconds { get; init; } = 30;

    /// <summary>The run slot's lease: how long a killed worker's run lock lives if its task never comes back.</summary>
    public int RunLeaseSeconds { get; init; } = 30;

    public int Seed { get; init; } = 1;

    public WorkPlan Work => new(TaskMinMs, TaskMaxMs, Seed);
}
