using System.Globalization;
using Solo.Bench.Backends;
using StackExchange.Redis;

namespace Solo.Bench.Scenarios.Raw;

/// <summary>
/// Raw <c>SET key owner PX ttl NX</c> through StackExchange.Redis on the run's own multiplexer: one command per
/// task, a batch sent as one pipelined <see cref="IBatch"/> (one round trip, as Solo's one script per batch).
/// No publish: the Solo side's broker is in-process, so the ratio is what the unique check keeps of raw Redis.
/// </summary>
internal sealed class RedisSetNxRawEnqueue : IRawEnqueue
{
    private static readonly TimeSpan SlotTtl = TimeSpan.FromHours(1);

    public string Kind => "StackExchange.Redis SET NX PX (IBatch-pipelined for batches), no publish";

    public ValueTask<RawSegment> StartAsync(BackendInstance backend, int batch, int messageBytes, CancellationToken cancellationToken)
    {
        var db = (backend.Redis ?? throw new InvalidOperationException("the backend has no Redis connection")).GetDatabase();
        var prefix = backend.LockPrefix;
        var misses = new MissCounter();
        Func<int, long, ValueTask<int>> operation = batch == 1
            ? async (_, sequence) =>
            {
                var id = sequence.ToString(CultureInfo.InvariantCulture);
                if (!await db.StringSetAsync(string.Concat(prefix, "{raw:", id, "}:q"), id, SlotTtl, When.NotExists))
                {
                    misses.Add(1);
                    return 0;
                }

                return 1;
            }
        : async (_, sequence) =>
        {
            var pipeline = db.CreateBatch();
            var replies = new Task<bool>[batch];
            for (var i = 0; i < replies.Length; i++)
            {
                var id = ((sequence * batch) + i).ToString(CultureInfo.InvariantCulture);
                replies[i] = pipeline.StringSetAsync(string.Concat(prefix, "{raw:", id, "}:q"), id, SlotTtl, When.NotExists);
            }

            pipeline.Execute();
            var taken = 0;
            foreach (var reply in replies)
            {
                taken += await reply ? 1 : 0;
            }

            misses.Add(batch - taken);
            return taken;
        };

        return ValueTask.FromResult(new RawSegment(operation, misses));
    }
}
