using Solo.Bench.Backends;
using Solo.Bench.Hosting;

namespace Solo.Bench.Scenarios;

/// <summary>What every scenario runs with.</summary>
/// <param name="Backend">Gives each run a fresh broker and lock store.</param>
/// <param name="Quick">Shrink about 10x, for a smoke run.</param>
/// <param name="Log">The core's warnings and errors.</param>
internal sealed record ScenarioContext(IBenchBackend Backend, bool Quick, BenchLog Log)
{
    /// <summary><paramref name="full"/>, or a tenth of it under <c>--quick</c>.</summary>
    public int Scale(int full) => Quick ? Math.Max(1, full / 10) : full;

    /// <summary><paramref name="full"/>, or a tenth of it under <c>--quick</c>.</summary>
    public TimeSpan Scale(TimeSpan full) => Quick ? full / 10 : full;

    /// <summary>Writes a progress note to stderr; stdout carries only the JSON lines.</summary>
    public static void Note(string message) => Console.Error.WriteLine($"[bench] {message}");
}
