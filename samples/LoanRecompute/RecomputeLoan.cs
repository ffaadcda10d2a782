namespace LoanRecompute;

/// <summary>The arguments of <c>loans.recompute</c>: only the id, so the task always reads the current loan.</summary>
internal sealed record RecomputeLoan(int LoanId);
