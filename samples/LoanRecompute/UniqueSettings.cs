using Solo;

namespace LoanRecompute;

/// <summary>
/// The uniqueness config of <c>loans.recompute</c> that every process sharing a database must agree on:
/// the producer takes queue slots by it and the workers take run slots by it, so a producer in one mode
/// and a worker in another would each keep a contract the other breaks.
/// </summary>
/// <param name="ModeName">The mode as spelled on the command line and in the database.</param>
/// <param name="WindowMs">The throttle or debounce window; the other modes ignore it.</param>
internal sealed record UniqueSettings(string ModeName, int WindowMs)
{
    public const string DefaultModeName = "coalesce";

    public const int DefaultWindowMs = 50;

    private static readonly Dictionary<string, UniqueMode> Modes = new(StringComparer.Ordinal)
    {
        ["until-executing"] = UniqueMode.UntilExecuting,
        ["until-executed"] = UniqueMode.UntilExecuted,
        ["while-executing"] = UniqueMode.WhileExecuting,
        ["coalesce"] = UniqueMode.Coalesce,
        ["throttle"] = UniqueMode.Throttle,
        ["debounce"] = UniqueMode.Debounce,
    };

    public static UniqueSettings Default { get; } = new(DefaultModeName, DefaultWindowMs);

    public static IEnumerable<string> ModeNames => Modes.Keys;

    public UniqueMode Mode => Modes[ModeName];

    public static bool IsMode(string name) => Modes.ContainsKey(name);
}
