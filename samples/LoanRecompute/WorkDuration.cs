namespace LoanRecompute;

/// <summary>
/// How long one simulated recompute takes, drawn from a seeded generator. The draws are reproducible;
/// which run gets which draw still depends on thread scheduling.
/// </summary>
internal sealed class WorkDuration(WorkPlan plan)
{
    private readonly Lock _gate = new();
    // Derived from the seed rather than equal to it, so work times do not mirror the producer's draws.
    private readonly Random _random = new(unchecked((plan.Seed * 31) + 7));

    public TimeSpan Next()
    {
        int ms;
        lock (_gate)
        {
            ms = _random.Next(plan.TaskMinMs, plan.TaskMaxMs + 1);
        }

        return TimeSpan.FromMilliseconds(ms);
    }
}
