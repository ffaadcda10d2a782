namespace LoanRecompute;

/// <summary>
/// Where the queue, the locks and the loans live. Every command takes these options the same way, so a
/// new backend (a broker or lock store of its own) is one more option here, not one per command.
/// </summary>
internal sealed record BackendOptions
{
    /// <summary>The SQLite file shared by every process; null lets <c>simulate</c> use a temporary one.</summary>
    public string? DbPath { get; init; }
}
