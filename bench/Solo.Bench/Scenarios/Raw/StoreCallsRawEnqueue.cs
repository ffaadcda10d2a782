using System.Globalization;
using Solo.Bench.Backends;
using Solo.Brokers;
using Solo.Locks;

namespace Solo.Bench.Scenarios.Raw;

/// <summary>
/// The bare <see cref="ILockStore"/> and <see cref="IBroker"/> calls an enqueue cannot do without, on the
/// backend's own store and broker: what Solo adds on top of its own backend.
/// </summary>
internal sealed class StoreCallsRawEnqueue : IRawEnqueue
{
    private static readonly TimeSpan SlotTtl = TimeSpan.FromHours(1);

    public string Kind => "ILockStore.TryAcquire(Many)Async + IBroker.PublishAsync on the same backend";

    public ValueTask<RawSegment> StartAsync(BackendInstance backend, int batch, int messageBytes, CancellationToken cancellationToken)
    {
        var locks = backend.Locks;
        var broker = backend.Broker;
        var queue = backend.Queue;
        var prefix = backend.LockPrefix;
        var body = new byte[messageBytes];
        var misses = new MissCounter();
        Func<int, long, ValueTask<int>> operation = batch == 1
            ? async (_, sequence) =>
            {
                var id = sequence.ToString(CultureInfo.InvariantCulture);
                var slot = await locks.TryAcquireAsync(string.Concat(prefix, "{raw:", id, "}:q"), id, SlotTtl, cancellationToken);
                if (!slot.Acquired)
                {
                    misses.Add(1);
                    return 0;
                }

                await broker.PublishAsync([new OutgoingMessage(id, queue, body)], cancellationToken);
                return 1;
            }
        : async (_, sequence) =>
        {
            var requests = new LockRequest[batch];
            for (var i = 0; i < requests.Length; i++)
            {
                var id = ((sequence * batch) + i).ToString(CultureInfo.InvariantCulture);
                requests[i] = new LockRequest(string.Concat(prefix, "{raw:", id, "}:q"), id, SlotTtl);
            }

            var slots = await locks.TryAcquireManyAsync(requests, cancellationToken);
            var messages = new List<OutgoingMessage>(requests.Length);
            for (var i = 0; i < requests.Length; i++)
            {
                if (slots[i].Acquired)
                {
                    messages.Add(new OutgoingMessage(requests[i].Owner, queue, body));
                }
            }

            if (messages.Count != requests.Length)
            {
                misses.Add(requests.Length - messages.Count);
            }

            await broker.PublishAsync(messages, cancellationToken);
            return messages.Count;
        };

        return ValueTask.FromResult(new RawSegment(operation, misses));
    }
}
