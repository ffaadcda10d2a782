namespace Solo.Uniqueness;

/// <summary>Whether a unique task may run.</summary>
internal enum SlotStartOutcome
{
    /// <summary>It holds what its mode needs: run it.</summary>
    Run,

    /// <summary>A newer task took its pending slot over (Replace, Debounce): drop it.</summary>
    Superseded,

    /// <summary>Another task holds the slot it needs.</summary>
    Conflict,
}
