using System.Text.Json;

namespace Solo;

/// <summary>Options shared by the client and the workers.</summary>
public sealed class SoloOptions
{
    /// <summary>The queue of tasks that name none. Default <c>default</c>.</summary>
    public string DefaultQueue { get; set; } = "default";

    /// <summary>The largest message accepted at enqueue, in bytes. Default 256 KiB.</summary>
    public int MaxPayloadBytes { get; set; } = 256 * 1024;

    /// <summary>The prefix of every lock key Solo takes. Default <c>solo:</c>.</summary>
    public string LockPrefix { get; set; } = "solo:";

    /// <summary>How task arguments are serialized. Default: System.Text.Json web defaults.</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);
}
