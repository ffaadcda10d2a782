using Solo.Locks;
using Solo.Sqlite.Tests.Support;

namespace Solo.Sqlite.Tests.Locks;

/// <summary>
/// What only a lock store in a shared file promises. Each <see cref="SqliteLockStore"/> has its own
/// connection, so two of them on one file behave as two processes do.
/// </summary>
[Collection(ContentionCollection.Name)]
public sealed class SqliteLockStoreTests : IAsyncLifetime, IDisposable
{
    private readonly TempDatabase _file = new();
    private readonly List<SqliteLockStore> _stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    public void Dispose() => _file.Dispose();

    [Fact]
    public async Task TryAcquireAsync_InstancesRacingForTheSameKeys_NeverTwoHoldersAndTokensNeverRepeat()
    {
        const int keyCount = 4;
        const int targetAcquisitions = 300;
        var stores = Enumerable.Range(0, 8).Select(_ => NewStore()).ToArray();
        var holders = new int[keyCount];
        var tokens = new System.Collections.Concurrent.ConcurrentBag<long>();
        var violations = 0;
        var acquisitions = 0;

        async Task RaceAsync(int worker)
        {
            var store = stores[worker % stores.Length];
            var random = new Random(worker);
            // Until the locks changed hands many times: every release is a chance for two to get in.
            for (var attempt = 0; Volatile.Read(ref acquisitions) < targetAcquisitions && attempt < 100_000; attempt++)
            {
                var k = random.Next(keyCount);
                var owner = $"w{worker}-a{attempt}";
                var result = await store.TryAcquireAsync($"k{k}", owner, TimeSpan.FromMinutes(5), default);
                if (!result.Acquired)
                {
                    continue;
                }

                Interlocked.Increment(ref acquisitions);
                tokens.Add(result.FencingToken);
                if (Interlocked.Increment(ref holders[k]) != 1)
                {
                    Interlocked.Increment(ref violations);
                }

                // Held for a moment, so that a second holder, if the store let one in, would overlap this one.
                await Task.Delay(1);
                Interlocked.Decrement(ref holders[k]);
                // Released through the other instance: ownership lives in the file, not in a connection.
                if (!await stores[(worker + 1) % stores.Length].ReleaseAsync($"k{k}", owner, result.FencingToken, default))
                {
                    Interlocked.Increment(ref violations);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, stores.Length).Select(w => Task.Run(() => RaceAsync(w)))).WaitAsync(TimeSpan.FromSeconds(40));

        Assert.Equal(0, violations);
        Assert.True(acquisitions >= targetAcquisitions, $"only {acquisitions} acquisitions: the race did not race");
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
    }

    [Fact]
    public async Task Reopen_AfterDispose_KeepsLocksAndTokensKeepGrowing()
    {
        LockResult first;
        await using (var before = new SqliteLockStore(_file.Options(), TimeProvider.System))
        {
            first = await before.TryAcquireAsync("held", "owner-1", TimeSpan.FromMinutes(5), default);
            var released = await before.TryAcquireAsync("released", "owner-1", TimeSpan.FromMinutes(5), default);
            Assert.True(await before.ReleaseAsync("released", "owner-1", released.FencingToken, default));
        }

        var after = NewStore();

        var held = await after.GetAsync("held", default);
        Assert.NotNull(held);
        Assert.Equal(("owner-1", first.FencingToken, first.ExpiresAt), (held.Owner, held.FencingToken, held.ExpiresAt));
        Assert.False((await after.TryAcquireAsync("held", "owner-2", TimeSpan.FromMinutes(5), default)).Acquired);
        var again = await after.TryAcquireAsync("released", "owner-2", TimeSpan.FromMinutes(5), default);
        Assert.True(again.Acquired);
        Assert.Equal(first.FencingToken + 2, again.FencingToken);
    }

    [Fact]
    public async Task TryAcquireAsync_DifferentKeysAndInstances_TokensComeFromOneGrowingCounter()
    {
        var stores = new[] { NewStore(), NewStore() };
        var tokens = new List<long>();

        for (var i = 0; i < 6; i++)
        {
            tokens.Add((await stores[i % 2].TryAcquireAsync($"k{i % 3}", $"owner-{i}", TimeSpan.FromMinutes(1), default)).FencingToken);
            await stores[(i + 1) % 2].ReleaseAsync($"k{i % 3}", $"owner-{i}", tokens[^1], default);
        }

        Assert.Equal(Enumerable.Range(1, 6).Select(n => (long)n), tokens);
    }

    [Fact]
    public async Task TryAcquireManyAsync_WhileAnotherInstanceHoldsTheWriteLock_WaitsAndDecidesAllTogether()
    {
        var store = NewStore();
        await store.GetAsync("warm-up", default);
        await using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_file.Path};Pooling=False");
        await other.OpenAsync();
        await using var command = other.CreateCommand();
        command.CommandText = "BEGIN IMMEDIATE; INSERT INTO solo_locks (key, owner, fencing_token, expires_at) VALUES ('b', 'other', 1000, 9223372036854775807)";
        await command.ExecuteNonQueryAsync();

        var acquire = Task.Run(async () => await store.TryAcquireManyAsync(
            [new LockRequest("a", "me", TimeSpan.FromMinutes(1)), new LockRequest("b", "me", TimeSpan.FromMinutes(1))], default));
        await Task.Delay(300);
        Assert.False(acquire.IsCompleted);
        command.CommandText = "COMMIT";
        await command.ExecuteNonQueryAsync();

        var results = await acquire.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(results[0].Acquired);
        Assert.Equal((false, "other", 1000L), (results[1].Acquired, results[1].Owner, results[1].FencingToken));
    }

    private SqliteLockStore NewStore()
    {
        var store = new SqliteLockStore(_file.Options(), TimeProvider.System);
        _stores.Add(store);
        return store;
    }
}
