using Solo.InMemory;

namespace Solo.Bench.Backends;

/// <summary>The in-process broker and lock store; a fresh pair per run, so nothing needs cleaning up.</summary>
internal sealed class InMemoryBackend : IBenchBackend
{
    public string Name => "memory";

    public ValueTask<BackendInstance> CreateAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var time = TimeProvider.System;
        return ValueTask.FromResult(new BackendInstance(new InMemoryBroker(time), new InMemoryLockStore(time), "bench", "bench:"));
    }
}
