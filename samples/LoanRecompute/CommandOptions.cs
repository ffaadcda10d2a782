namespace LoanRecompute;

/// <summary>A parsed command line: one derived record per command.</summary>
internal abstract record CommandOptions
{
    public BackendOptions Backend { get; init; } = new();

    /// <summary>A copy of the derived record with other backend options (a <c>with</c> that works on the base type).</summary>
    public CommandOptions WithBackend(BackendOptions backend) => this with { Backend = backend };
}
