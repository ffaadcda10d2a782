using System.Data.Common;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Solo.Brokers;
using Solo.Locks;
using Solo.Messages;
using Solo.Outbox;
using Solo.Tasks;
using Solo.Uniqueness;

namespace Solo.Client;

/// <summary>
/// Enqueue: take the queue slot with owner = the new task id, then publish; if publishing fails,
/// release the slot before returning the error.
/// </summary>
internal sealed class SoloClient(
    TaskRegistry registry,
    IBroker broker,
    ILockStore locks,
    IOptions<SoloOptions> options,
    TimeProvider time,
    IEnumerable<ISoloMiddleware> middlewares,
    IEnumerable<IOutboxStore> outboxes,
    OutboxWakeup wakeup) : ISoloClient, IDisposable
{
    // Replace races with starts and other replacers; each lost race is retried a bounded number of times.
    private const int MaxReplaceRounds = 16;

    private readonly SoloOptions _options = options.Value;
    private readonly ISoloMiddleware[] _middlewares = middlewares.ToArray();
    private readonly QueueSlots _slots = new(locks, time);
    private readonly IOutboxStore? _outbox = outboxes.LastOrDefault();

    public void Dispose() => _slots.Dispose();

    public Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, CancellationToken cancellationToken = default)
        where TArgs : notnull => EnqueueAsync(args, null, cancellationToken);

    public async Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, EnqueueOptions? options, CancellationToken cancellationToken = default)
        where TArgs : notnull
    {
        var results = await EnqueueManyAsync([args], options, cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    public async Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, DbTransaction transaction, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull
    {
        var results = await EnqueueManyAsync([args], transaction, options, cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    public async Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync<TArgs>(IEnumerable<TArgs> args, DbTransaction transaction, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(transaction);
        var outbox = _outbox ?? throw new InvalidOperationException(
            "Enqueueing inside a transaction needs a transactional outbox in the transaction's database: add UseSqliteOutbox(...), UsePostgresOutbox(...) or UseOutbox(...) to AddSolo.");
        var items = Prepare(args, options);
        if (items.Length == 0)
        {
            return [];
        }

        var messages = new OutboxMessage[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i];

            // The size limit holds at enqueue, where the caller can still act on it, not later at the relay; the
            // largest fencing token the relay could add is counted, so a message accepted here always publishes.
            _ = Serialize(item, long.MaxValue);
            messages[i] = new OutboxMessage(item.Id, item.Registration.Name, item.Queue, Encoding.UTF8.GetString(item.ArgsJson), item.UniqueKey, item.NotBefore, item.EnqueuedAt);
        }

        await outbox.WriteAsync(transaction, messages, cancellationToken).ConfigureAwait(false);
        wakeup.WakeAfter(transaction);
        return items.Select(i => new EnqueueResult(EnqueueOutcome.Deferred, i.Id, i.UniqueKey)).ToArray();
    }

    /// <summary>
    /// Publishes committed outbox messages as enqueues: uniqueness is decided now, and a conflict that
    /// would throw at a direct enqueue drops the message instead, since nobody waits for the answer.
    /// </summary>
    internal async Task PublishOutboxAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var items = new Item[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            var registration = registry.FindByName(message.Task) ?? throw new TaskNotRegisteredException(
                $"The outbox holds a task named '{message.Task}', which is not registered in this process; every process that runs an outbox relay must register the tasks enqueued in transactions.");
            var json = Encoding.UTF8.GetBytes(message.Args);
            var args = JsonSerializer.Deserialize(json, registration.ArgsType, _options.JsonSerializerOptions)
                ?? throw new TaskPayloadException(registration.Name, "its outbox arguments are null.");
            items[i] = Create(registration, message.TaskId, args, json, message.Queue, message.UniqueKey, message.NotBefore, message.EnqueuedAt, now);
        }

        foreach (var group in items.GroupBy(i => i.Registration))
        {
            await EnqueueItemsAsync(group.ToArray(), cancellationToken, throwOnConflict: false).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync<TArgs>(IEnumerable<TArgs> args, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull
    {
        var items = Prepare(args, options);
        return items.Length == 0 ? [] : await EnqueueItemsAsync(items, cancellationToken, throwOnConflict: true).ConfigureAwait(false);
    }

    /// <summary>Takes the queue slots of items of one task, if its mode has them, then publishes what it may.</summary>
    private async Task<IReadOnlyList<EnqueueResult>> EnqueueItemsAsync(Item[] items, CancellationToken cancellationToken, bool throwOnConflict)
    {
        var unique = items[0].Registration.Unique;
        if (unique is null || !unique.HasQueueSlot)
        {
            await PublishAsync(items, cancellationToken).ConfigureAwait(false);
            return items.Select(i => new EnqueueResult(EnqueueOutcome.Enqueued, i.Id, i.UniqueKey)).ToArray();
        }

        return await EnqueueUniqueAsync(unique, items, cancellationToken, throwOnConflict).ConfigureAwait(false);
    }

    private Item[] Prepare<TArgs>(IEnumerable<TArgs> args, EnqueueOptions? options)
        where TArgs : notnull
    {
        ArgumentNullException.ThrowIfNull(args);
        if (options is { Delay: not null, StartAt: not null })
        {
            throw new ArgumentException("EnqueueOptions: set Delay or StartAt, not both.", nameof(options));
        }

        var registration = registry.GetByArgs(typeof(TArgs));
        var now = time.GetUtcNow();
        return args.Select(a => Prepare(registration, a, options, now)).ToArray();
    }

    private async Task<IReadOnlyList<EnqueueResult>> EnqueueUniqueAsync(UniquePolicy unique, Item[] items, CancellationToken cancellationToken, bool throwOnConflict)
    {
        var acquired = await _slots.TakeAsync(items.Select(i => i.SlotRequest).ToArray(), cancellationToken).ConfigureAwait(false);

        var results = new EnqueueResult?[items.Length];
        var toPublish = new List<Item>(items.Length);
        var conflicts = new List<int>();
        for (var i = 0; i < items.Length; i++)
        {
            if (acquired[i].Acquired)
            {
                items[i].Fence = acquired[i].FencingToken;
                toPublish.Add(items[i]);
                results[i] = new EnqueueResult(EnqueueOutcome.Enqueued, items[i].Id, items[i].UniqueKey);
            }
            else
            {
                conflicts.Add(i);
            }
        }

        if (throwOnConflict && unique.OnConflict == Conflict.Throw && conflicts.Count > 0)
        {
            await ReleaseAsync(toPublish, cancellationToken).ConfigureAwait(false);
            var first = conflicts[0];
            throw new UniqueConflictException(items[first].UniqueKey!, acquired[first].Owner ?? "(expired)");
        }

        await PublishAsync(toPublish, cancellationToken).ConfigureAwait(false);

        foreach (var i in conflicts)
        {
            var holder = acquired[i].Owner;
            results[i] = unique.OnConflict == Conflict.Replace && holder is not null
                ? await ReplaceAsync(items[i], holder, cancellationToken).ConfigureAwait(false)
                : await DuplicateAsync(items[i], holder ?? "(expired)", cancellationToken).ConfigureAwait(false);
        }

        return results!;
    }

    private async Task<EnqueueResult> ReplaceAsync(Item item, string holder, CancellationToken cancellationToken)
    {
        for (var round = 0; round < MaxReplaceRounds; round++)
        {
            // The pending holder sees the slot taken over when it starts, and drops itself.
            var replaced = await _slots.HandOverAsync(item.SlotRequest, holder, cancellationToken).ConfigureAwait(false);
            if (replaced.Acquired)
            {
                item.Fence = replaced.FencingToken;
                await PublishAsync([item], cancellationToken).ConfigureAwait(false);
                return new EnqueueResult(EnqueueOutcome.Replaced, item.Id, item.UniqueKey, holder);
            }

            // The holder started or was replaced meanwhile: take the free slot, or replace the new holder.
            var retry = await _slots.TakeAsync(item.SlotRequest, cancellationToken).ConfigureAwait(false);
            if (retry.Acquired)
            {
                item.Fence = retry.FencingToken;
                await PublishAsync([item], cancellationToken).ConfigureAwait(false);
                return new EnqueueResult(EnqueueOutcome.Enqueued, item.Id, item.UniqueKey);
            }

            holder = retry.Owner ?? holder;
        }

        throw new UniqueConflictException(item.UniqueKey!, holder);
    }

    private async Task<EnqueueResult> DuplicateAsync(Item item, string holder, CancellationToken cancellationToken)
    {
        foreach (var middleware in _middlewares)
        {
            await middleware.OnDuplicateAsync(new DuplicateContext(item.Registration.Name, item.UniqueKey!, holder, item.Args), cancellationToken).ConfigureAwait(false);
        }

        return new EnqueueResult(EnqueueOutcome.Duplicate, holder, item.UniqueKey);
    }

    private async Task PublishAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return;
        }

        try
        {
            var messages = new OutgoingMessage[items.Count];
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                foreach (var middleware in _middlewares)
                {
                    await middleware.OnPublishingAsync(new PublishContext(item.Id, item.Registration.Name, item.Queue, item.Args, item.UniqueKey, item.NotBefore), cancellationToken).ConfigureAwait(false);
                }

                messages[i] = new OutgoingMessage(item.Id, item.Queue, Serialize(item, item.Fence), item.NotBefore);
            }

            await broker.PublishAsync(messages, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ReleaseAsync(items, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Releases the slots of tasks that will not be published.</summary>
    private Task ReleaseAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken) =>
        _slots.ReleaseAsync(items.Where(i => i.QueueLockKey is not null && i.Fence is not null).Select(i => (i.QueueLockKey!, i.Id, i.Fence!.Value)), cancellationToken);

    /// <summary>The item's envelope with <paramref name="fence"/>; throws when it is over the size limit.</summary>
    private byte[] Serialize(Item item, long? fence)
    {
        var body = EnvelopeSerializer.Serialize(item.Id, item.Registration.Name, item.UniqueKey, item.EnqueuedAt, fence, item.ArgsJson);
        if (body.Length > _options.MaxPayloadBytes)
        {
            throw new TaskPayloadException(item.Registration.Name, $"the message is {body.Length} bytes, over the limit of {_options.MaxPayloadBytes} bytes (SoloOptions.MaxPayloadBytes).");
        }

        return body;
    }

    private Item Prepare(TaskRegistration registration, object args, EnqueueOptions? options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(args);
        byte[] json;
        try
        {
            json = JsonSerializer.SerializeToUtf8Bytes(args, registration.ArgsType, _options.JsonSerializerOptions);
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new TaskPayloadException(registration.Name, $"its arguments ({registration.ArgsType.Name}) cannot be serialized: {ex.Message}", ex);
        }

        DateTimeOffset? notBefore = options?.StartAt ?? (options?.Delay is { } delay ? now + delay : null);
        var unique = registration.Unique;
        string? uniqueKey = null;
        if (unique is not null)
        {
            var key = options?.UniqueKey ?? unique.KeySelector?.Invoke(args);
            uniqueKey = UniquePolicy.UniqueKey(registration.Name, key);
            notBefore = unique.StartAt(notBefore, now);
        }

        return Create(registration, Guid.CreateVersion7().ToString("N"), args, json, options?.Queue ?? registration.Queue ?? _options.DefaultQueue, uniqueKey, notBefore, now, now);
    }

    /// <summary>An item whose queue slot (if its mode has one) lasts until its start plus the slot's TTL, counted from <paramref name="now"/>.</summary>
    private Item Create(TaskRegistration registration, string id, object args, byte[] json, string queue, string? uniqueKey, DateTimeOffset? notBefore, DateTimeOffset enqueuedAt, DateTimeOffset now)
    {
        string? queueLockKey = null;
        var ttl = TimeSpan.Zero;
        if (registration.Unique is { HasQueueSlot: true } unique && uniqueKey is not null)
        {
            var wait = notBefore is { } start && start > now ? start - now : TimeSpan.Zero;
            queueLockKey = LockKeys.Queue(_options.LockPrefix, uniqueKey);
            ttl = unique.QueueSlotTtlAtEnqueue(wait);
        }

        return new Item(registration, id, args, json, queue, uniqueKey, queueLockKey, ttl, notBefore, enqueuedAt);
    }

    private sealed class Item(TaskRegistration registration, string id, object args, byte[] argsJson, string queue, string? uniqueKey, string? queueLockKey, TimeSpan queueSlotTtl, DateTimeOffset? notBefore, DateTimeOffset enqueuedAt)
    {
        public TaskRegistration Registration { get; } = registration;

        public string Id { get; } = id;

        public object Args { get; } = args;

        /// <summary>The arguments as UTF-8 JSON.</summary>
        public byte[] ArgsJson { get; } = argsJson;

        public string Queue { get; } = queue;

        public string? UniqueKey { get; } = uniqueKey;

        public string? QueueLockKey { get; } = queueLockKey;

        public TimeSpan QueueSlotTtl { get; } = queueSlotTtl;

        public LockRequest SlotRequest => new(QueueLockKey!, Id, QueueSlotTtl);

        public DateTimeOffset? NotBefore { get; } = notBefore;

        public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;

        public long? Fence { get; set; }
    }
}
