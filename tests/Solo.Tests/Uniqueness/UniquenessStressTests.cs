using System.Collections.Concurrent;
using System.Diagnostics;
using Solo.InMemory;
using Solo.Tests.Support;
using Xunit.Abstractions;

namespace Solo.Tests.Uniqueness;

/// <summary>
/// 20,000 enqueues over 50 keys, 8 concurrent workers (4 worker hosts of 2 sharing one broker and lock
/// store), tasks of random short duration. Each mode's promise is checked on every event; violations
/// and losses are counted and must be zero.
/// </summary>
public sealed class UniquenessStressTests(ITestOutputHelper output)
{
    private const int Events = 20_000;
    private const int Keys = 50;
    private const int Hosts = 4;

    [Fact]
    public Task Stress_UntilExecuted_NeverTwoOfAKeyQueuedOrRunning() => RunAsync(UniqueMode.UntilExecuted);

    [Fact]
    public Task Stress_UntilExecuting_NeverTwoOfAKeyQueued() => RunAsync(UniqueMode.UntilExecuting);

    [Fact]
    public Task Stress_WhileExecuting_NeverTwoOfAKeyRunningAndNoneLost() => RunAsync(UniqueMode.WhileExecuting);

    [Fact]
    public Task Stress_Coalesce_NeverTwoRunningAndLastRunStartsAfterLastEnqueue() => RunAsync(UniqueMode.Coalesce);

    [Fact]
    public Task Stress_Debounce_NeverTwoRunningAndLastRunHasLastArguments() => RunAsync(UniqueMode.Debounce);

    [Fact]
    public Task Stress_Throttle_AtMostOneEnqueuePerWindow() => RunAsync(UniqueMode.Throttle);

    private async Task RunAsync(UniqueMode mode)
    {
        var window = TimeSpan.FromMilliseconds(20);
        var time = TimeProvider.System;
        var broker = new InMemoryBroker(time);
        var locks = new ObservedLockStore(new InMemoryLockStore(time));
        var probe = new Probe();
        var state = new StressState(Keys, mode == UniqueMode.Throttle ? window : TimeSpan.Zero);
        locks.BeforeRelease = state.BeforeRelease;
        locks.Acquired = state.Acquired;
        var hosts = Enumerable.Range(0, Hosts).Select(index => SoloHarness.Create(
            t => t.Retry(1).Unique(u =>
            {
                _ = mode switch
                {
                    UniqueMode.UntilExecuted => u.UntilExecuted(),
                    UniqueMode.UntilExecuting => u.UntilExecuting(),
                    UniqueMode.WhileExecuting => u.WhileExecuting(),
                    UniqueMode.Coalesce => u.Coalesce(),
                    UniqueMode.Debounce => u.Debounce(TimeSpan.FromMilliseconds(2)),
                    _ => u.Throttle(window),
                };
                u.Key(w => w.Key).RescheduleDelay(TimeSpan.FromMilliseconds(2));
            }),
            worker: w => { w.Concurrency = 2; w.ReceiveWait = TimeSpan.FromMilliseconds(20); },
            time: time,
            broker: broker,
            locks: locks,
            probe: probe,
            solo: s => s.UseMiddleware(new CountingMiddleware(state, mode)))).ToArray();

        probe.OnRun = async (w, ctx, ct) =>
        {
            state.OnStart(w, ctx, mode);
            var ms = Random.Shared.Next(0, 3);
            if (ms > 0)
            {
                await Task.Delay(ms, ct);
            }
            else
            {
                await Task.Yield();
            }

            state.OnEnd(w, mode);
        };

        var stopwatch = Stopwatch.StartNew();
        foreach (var host in hosts)
        {
            await host.StartWorkerAsync();
        }

        var results = new ConcurrentBag<EnqueueResult>();
        var producers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = p; i < Events; i += 4)
            {
                // Each producer owns a quarter of the keys, so the enqueues of one key are ordered
                // and "the last arguments" of a key is well defined.
                var key = (Random.Shared.Next((Keys - p + 3) / 4) * 4) + p;
                var value = state.NextValue(key);
                var result = await hosts[0].Client.EnqueueAsync(new Work(key, value));
                results.Add(result);
                if (i % 64 == 0)
                {
                    await Task.Delay(1);
                }
            }
        })).ToArray();
        await Task.WhenAll(producers);
        if (mode == UniqueMode.Debounce)
        {
            await Task.Delay(50);
        }

        await hosts[0].WaitUntilDrainedAsync(TimeSpan.FromSeconds(120));
        foreach (var host in hosts)
        {
            await host.StopWorkerAsync();
        }

        var enqueued = results.Where(r => r.Outcome != EnqueueOutcome.Duplicate).Select(r => r.TaskId).ToHashSet();
        var ran = probe.Completions.Select(c => c.Context.TaskId).ToList();
        output.WriteLine($"{mode}: {Events} events, {enqueued.Count} enqueued, {ran.Count} runs, {stopwatch.ElapsedMilliseconds} ms");

        Assert.Equal(Events, results.Count);
        Assert.Equal(0, state.Violations);
        if (mode is not (UniqueMode.UntilExecuting or UniqueMode.Throttle))
        {
            Assert.Equal(1, state.MaxRunningPerKey);
        }

        Assert.Equal(ran.Count, ran.Distinct().Count());
        Assert.Equal(0, (await hosts[0].CountsAsync()).DeadLettered);

        switch (mode)
        {
            case UniqueMode.WhileExecuting:
            case UniqueMode.UntilExecuted:
            case UniqueMode.UntilExecuting:
            case UniqueMode.Throttle:
                // Nothing accepted is lost.
                Assert.Empty(enqueued.Except(ran));
                break;
            case UniqueMode.Coalesce:
            case UniqueMode.Debounce:
                for (var key = 0; key < Keys; key++)
                {
                    if (state.LastEnqueueTicks[key] != 0)
                    {
                        Assert.True(state.LastStartTicks[key] > state.LastEnqueueTicks[key], $"key {key}: last run started before the last enqueue");
                    }
                }

                if (mode == UniqueMode.Debounce)
                {
                    for (var key = 0; key < Keys; key++)
                    {
                        var k = key;
                        Assert.True(state.LastValue(key) == state.LastRunValue[key], $"key {key}: last enqueued {state.LastValue(key)}, last run {state.LastRunValue[key]}; runs {string.Join(",", probe.Starts.Where(s => s.Args.Key == k).Select(s => s.Args.Value).TakeLast(5))}");
                    }
                }

                break;
        }

        if (mode != UniqueMode.Throttle)
        {
            Assert.Empty(await hosts[0].LocksLeftAsync());
        }
        else
        {
            await Task.Delay(window * 2);
            Assert.Empty(await hosts[0].LocksLeftAsync());
        }

        foreach (var host in hosts)
        {
            await host.DisposeAsync();
        }
    }

    private sealed class StressState(int keys, TimeSpan window)
    {
        private readonly ConcurrentDictionary<string, bool> _started = new();
        private readonly string?[] _pending = new string?[keys];
        private readonly DateTimeOffset[] _throttleExpiry = new DateTimeOffset[keys];
        private readonly int[] _running = new int[keys];
        private readonly int[] _queued = new int[keys];
        private readonly int[] _values = new int[keys];
        private int _violations;
        private int _maxRunningPerKey;

        public long[] LastEnqueueTicks { get; } = new long[keys];

        public long[] LastStartTicks { get; } = new long[keys];

        public int[] LastRunValue { get; } = new int[keys];

        public int Violations => Volatile.Read(ref _violations);

        public int MaxRunningPerKey => Volatile.Read(ref _maxRunningPerKey);

        public int NextValue(int key)
        {
            lock (this)
            {
                // Taken before the enqueue call: every event is followed by a run that started after this.
                LastEnqueueTicks[key] = Stopwatch.GetTimestamp();
                return ++_values[key];
            }
        }

        public int LastValue(int key) => _values[key];

        public void OnPublishing(PublishContext context, UniqueMode mode)
        {
            var key = ((Work)context.Args).Key;
            if (mode == UniqueMode.UntilExecuted && Interlocked.Increment(ref _queued[key]) > 1)
            {
                Interlocked.Increment(ref _violations);
            }

            if (mode == UniqueMode.UntilExecuting)
            {
                lock (_pending)
                {
                    // The previous task of this key must have given its queue slot up (started) by now.
                    if (_pending[key] is { } previous && !_started.ContainsKey(previous))
                    {
                        Interlocked.Increment(ref _violations);
                    }

                    _pending[key] = context.TaskId;
                }
            }
        }

        public void BeforeRelease(string lockKey, string owner)
        {
            if (lockKey.EndsWith(":q", StringComparison.Ordinal))
            {
                _started[owner] = true;
            }
        }

        public void Acquired(string lockKey, Solo.Locks.LockResult result)
        {
            if (!lockKey.EndsWith(":q", StringComparison.Ordinal) || window == TimeSpan.Zero)
            {
                return;
            }

            // solo:{work:K}:q: the throttle slot's expiry is its acquisition time plus the window, exactly.
            var key = int.Parse(lockKey.AsSpan(lockKey.IndexOf(':', 6) + 1, lockKey.IndexOf('}') - lockKey.IndexOf(':', 6) - 1), System.Globalization.CultureInfo.InvariantCulture);
            lock (_throttleExpiry)
            {
                if (result.ExpiresAt - window < _throttleExpiry[key])
                {
                    Interlocked.Increment(ref _violations);
                }

                _throttleExpiry[key] = result.ExpiresAt;
            }
        }

        public void OnStart(Work work, TaskContext context, UniqueMode mode)
        {
            var running = Interlocked.Increment(ref _running[work.Key]);
            Probe.InterlockedMax(ref _maxRunningPerKey, running);
            if (mode is UniqueMode.WhileExecuting or UniqueMode.Coalesce or UniqueMode.Debounce or UniqueMode.UntilExecuted && running > 1)
            {
                Interlocked.Increment(ref _violations);
            }

            lock (this)
            {
                LastStartTicks[work.Key] = Stopwatch.GetTimestamp();
                LastRunValue[work.Key] = work.Value;
            }
        }

        public void OnEnd(Work work, UniqueMode mode)
        {
            Interlocked.Decrement(ref _running[work.Key]);
            if (mode == UniqueMode.UntilExecuted)
            {
                Interlocked.Decrement(ref _queued[work.Key]);
            }
        }
    }

    private sealed class CountingMiddleware(StressState state, UniqueMode mode) : ISoloMiddleware
    {
        public ValueTask OnPublishingAsync(PublishContext context, CancellationToken cancellationToken)
        {
            state.OnPublishing(context, mode);
            return ValueTask.CompletedTask;
        }
    }
}
