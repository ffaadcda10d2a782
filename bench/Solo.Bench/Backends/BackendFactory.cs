namespace Solo.Bench.Backends;

/// <summary>Maps <c>--backend</c> to a backend. A new backend is one class and one line here.</summary>
internal static class BackendFactory
{
    public static IReadOnlyList<string> Names { get; } = ["memory"];

    public static IBenchBackend Create(string name) => name switch
    {
        "memory" => new InMemoryBackend(),
        _ => throw new ArgumentException($"unknown backend '{name}' (known: {string.Join(", ", Names)})"),
    };
}
