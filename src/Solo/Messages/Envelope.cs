using System.Text.Json;

namespace Solo.Messages;

/// <summary>What a message carries: the task, its arguments, and what uniqueness needs at start.</summary>
internal sealed record Envelope(
    string Id,
    string Task,
    JsonElement Args,
    string? Key,
    int Attempt,
    DateTimeOffset EnqueuedAt,
    long? Fence)
{
    public const int CurrentVersion = 1;
}
