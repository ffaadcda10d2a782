namespace LoanRecompute;

/// <summary>The parsed command line of <c>verify</c>.</summary>
internal sealed record VerifyOptions : CommandOptions
{
    public int TimeoutSeconds { get; init; } = 60;
}
