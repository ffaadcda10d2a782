using System.Buffers;
using System.Text.Json;

namespace Solo.Messages;

/// <summary>
/// Writes and reads the versioned envelope. Reading never trusts the wire: any defect becomes an
/// <see cref="InvalidEnvelopeException"/> whose message is the dead-letter reason.
/// </summary>
internal static class EnvelopeSerializer
{
    public static byte[] Serialize(Envelope envelope) =>
        Write(envelope.Id, envelope.Task, envelope.Key, envelope.Attempt, envelope.EnqueuedAt, envelope.Fence, envelope.Args, static (writer, args) => args.WriteTo(writer));

    /// <summary>A first attempt's envelope around arguments already serialized (UTF-8 JSON from the serializer, so not checked again).</summary>
    public static byte[] Serialize(string id, string task, string? key, DateTimeOffset enqueuedAt, long? fence, byte[] argsUtf8) =>
        Write(id, task, key, 1, enqueuedAt, fence, argsUtf8, static (writer, args) => writer.WriteRawValue(args, skipInputValidation: true));

    private static byte[] Write<TArgs>(string id, string task, string? key, int attempt, DateTimeOffset enqueuedAt, long? fence, TArgs args, Action<Utf8JsonWriter, TArgs> writeArgs)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Envelope.CurrentVersion);
            writer.WriteString("id", id);
            writer.WriteString("task", task);
            if (key is not null)
            {
                writer.WriteString("key", key);
            }

            writer.WriteNumber("attempt", attempt);
            writer.WriteNumber("enqueuedAt", enqueuedAt.ToUnixTimeMilliseconds());
            if (fence is { } value)
            {
                writer.WriteNumber("fence", value);
            }

            writer.WritePropertyName("args");
            writeArgs(writer, args);
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
