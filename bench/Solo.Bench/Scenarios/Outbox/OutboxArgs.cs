namespace Solo.Bench.Scenarios.Outbox;

internal sealed record OutboxArgs(int LoanId);
