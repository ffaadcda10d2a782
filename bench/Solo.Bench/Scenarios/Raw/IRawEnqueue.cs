using Solo.Bench.Backends;

namespace Solo.Bench.Scenarios.Raw;

/// <summary>What an enqueue is compared with: the same work done without Solo, at the same concurrency and batch size.</summary>
internal interface IRawEnqueue
{
    /// <summary>Echoed as <c>raw.kind</c>, so a ratio says what it is a ratio to.</summary>
    string Kind { get; }

    /// <summary>One measured segment's operation on <paramref name="backend"/>'s server.</summary>
    /// <param name="backend">The segment's fresh backend.</param>
    /// <param name="batch">Tasks per call (1, or Solo's EnqueueManyAsync batch).</param>
    /// <param name="messageBytes">Solo's message size, for baselines that publish.</param>
    /// <param name="cancellationToken">Stops the segment.</param>
    ValueTask<RawSegment> StartAsync(BackendInstance backend, int batch, int messageBytes, CancellationToken cancellationToken);
}
