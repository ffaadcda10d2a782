using System.Buffers;
using System.Text.Json;

namespace Solo.Messages;

/// <summary>
/// Writes and reads the versioned envelope. Reading never trusts the wire: any defect becomes an
/// <see cref="InvalidEnvelopeException"/> whose message is the dead-letter reason.
/// </summary>
internal static class EnvelopeSerializer
{
    public static byte[] Serialize(Envelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Envelope.CurrentVersion);
            writer.WriteString("id", envelope.Id);
            writer.WriteString("task", envelope.Task);
            if (envelope.Key is not null)
            {
                writer.WriteString("key", envelope.Key);
            }

            writer.WriteNumber("attempt", envelope.Attempt);
            writer.WriteNumber("enqueuedAt", envelope.EnqueuedAt.ToUnixTimeMilliseconds());
            if (envelope.Fence is { } fence)
            {
                writer.WriteNumber("fence", fence);
            }

            writer.WritePropertyName("args");
            envelope.Args.WriteTo(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static Envelope Deserialize(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            throw new InvalidEnvelopeException($"malformed message: not JSON ({ex.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidEnvelopeException($"malformed message: expected a JSON object, got {root.ValueKind}");
            }

            var version = RequiredInt(root, "v");
            if (version != Envelope.CurrentVersion)
            {
                throw new InvalidEnvelopeException($"unsupported envelope version {version} (this worker reads version {Envelope.CurrentVersion})");
            }

            var id = RequiredString(root, "id");
            var task = RequiredString(root, "task");
            var attempt = RequiredInt(root, "attempt");
            if (attempt < 1)
            {
                throw new InvalidEnvelopeException($"malformed message: attempt must be at least 1, was {attempt}");
            }

            string? key = null;
            if (root.TryGetProperty("key", out var keyElement) && keyElement.ValueKind != JsonValueKind.Null)
            {
                key = keyElement.ValueKind == JsonValueKind.String
                    ? keyElement.GetString()
                    : throw new InvalidEnvelopeException("malformed message: 'key' must be a string");
            }

            long? fence = null;
            if (root.TryGetProperty("fence", out var fenceElement) && fenceElement.ValueKind != JsonValueKind.Null)
            {
                fence = fenceElement.TryGetInt64(out var f) ? f : throw new InvalidEnvelopeException("malformed message: 'fence' must be an integer");
            }

            if (!root.TryGetProperty("enqueuedAt", out var enqueuedElement) || !enqueuedElement.TryGetInt64(out var enqueuedMs))
            {
                throw new InvalidEnvelopeException("malformed message: 'enqueuedAt' is missing or not an integer");
            }

            if (!root.TryGetProperty("args", out var args))
            {
                throw new InvalidEnvelopeException("malformed message: 'args' is missing");
            }

            return new Envelope(id, task, args.Clone(), key, attempt, DateTimeOffset.FromUnixTimeMilliseconds(enqueuedMs), fence);
        }
    }

    private static string RequiredString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(element.GetString()))
        {
            throw new InvalidEnvelopeException($"malformed message: '{name}' is missing or not a non-empty string");
        }

        return element.GetString()!;
    }

    private static int RequiredInt(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var element) || !element.TryGetInt32(out var value))
        {
            throw new InvalidEnvelopeException($"malformed message: '{name}' is missing or not an integer");
        }

        return value;
    }
}
