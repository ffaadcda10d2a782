namespace LoanRecompute;

/// <summary>The event stream a producer plays: how many events, over how many loans, from which seed.</summary>
internal sealed record EventPlan(int Events, int Loans, int Seed, bool Transactional = false);
