namespace LoanRecompute;

/// <summary>How long one simulated recompute takes: a range in ms, drawn from a seeded generator.</summary>
internal sealed record WorkPlan(int TaskMinMs, int TaskMaxMs, int Seed);
