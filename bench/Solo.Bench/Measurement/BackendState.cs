using System.Text.Json.Nodes;
using Solo.Bench.Backends;

namespace Solo.Bench.Measurement;

/// <summary>What a run left behind: a drained run leaves no message pending and no lock held.</summary>
internal sealed record BackendState(long Pending, long DeadLettered, int LocksLeft)
{
    public bool Clean => Pending == 0 && LocksLeft == 0;

    public static async Task<BackendState> ReadAsync(BackendInstance backend, CancellationToken cancellationToken)
    {
        var counts = await backend.Broker.GetCountsAsync(backend.Queue, cancellationToken);
        var locks = 0;
        await foreach (var _ in backend.Locks.ListAsync(backend.LockPrefix, cancellationToken))
        {
            locks++;
        }

        return new BackendState(counts.Pending, counts.DeadLettered, locks);
    }

    /// <summary>Reads the state until it is clean (releases trail the last task body) or the timeout passes.</summary>
    public static async Task<BackendState> SettleAsync(BackendInstance backend, TimeSpan timeout, CancellationToken cancellationToken)
    {
        BackendState state = new(0, 0, 0);
        await Poll.UntilAsync(
            async () =>
            {
                state = await ReadAsync(backend, cancellationToken);
                return state.Clean;
            },
            timeout,
            cancellationToken);
        return state;
    }

    public void AddTo(JsonObject json)
    {
        json["pendingAfter"] = Pending;
        json["deadLettered"] = DeadLettered;
        json["locksLeft"] = LocksLeft;
    }
}
