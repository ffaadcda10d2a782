namespace LoanRecompute;

/// <summary>
/// What a command line asked of the shared <see cref="UniqueSettings"/>: null where it named nothing and
/// will take what the database holds.
/// </summary>
internal sealed record RequestedSettings(string? ModeName, int? WindowMs)
{
    public static RequestedSettings None { get; } = new(null, null);

    public bool IsEmpty => ModeName is null && WindowMs is null;

    /// <summary>The settings to store when the database holds none yet.</summary>
    public UniqueSettings OrDefaults() => new(ModeName ?? UniqueSettings.DefaultModeName, WindowMs ?? UniqueSettings.DefaultWindowMs);
}
