namespace Solo.Uniqueness;

/// <summary>What a unique task found when it tried to start.</summary>
internal readonly record struct SlotStart(SlotStartOutcome Outcome, long? Fence, string? Holder);
