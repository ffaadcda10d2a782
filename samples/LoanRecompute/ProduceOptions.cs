namespace LoanRecompute;

/// <summary>The parsed command line of <c>produce</c>.</summary>
internal sealed record ProduceOptions : CommandOptions
{
    public int Events { get; init; }

    public int Loans { get; init; }

    /// <summary>A mode or window named here must match the database's; none means "the database's, or the defaults".</summary>
    public RequestedSettings Requested { get; init; } = RequestedSettings.None;

    public int Seed { get; init; } = 1;

    /// <summary>Each event's bump and enqueue in one transaction, through Solo's outbox.</summary>
    public bool Transactional { get; init; }

    public EventPlan Plan => new(Events, Loans, Seed, Transactional);
}
