using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Solo.InMemory;
using Solo.Locks;
using Solo.Outbox;
using Solo.Tests.Support;

namespace Solo.Tests.Conformance;

/// <summary>
/// What every transactional outbox must do, through the engine: the app's transaction writes, the relay
/// publishes. A backend joins by subclassing. The outbox store is the real one under test; the broker is a
/// recorder of publishes (the thing these tests count), and the lock store is in memory, since the
/// uniqueness decided at publish time is the engine's, tested elsewhere on every lock store.
/// </summary>
public abstract class OutboxConformanceTests : IAsyncLifetime
{
    // How long a test waits for the relay when it names no other bound.
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(20);

    private readonly List<IAsyncDisposable> _disposables = [];

    /// <summary>A new outbox store on this test's database (each call another instance, as another process has).</summary>
    /// <param name="claimLease">How long a claimed batch is kept from other relays, for stores whose claims are leases.</param>
    protected abstract ValueTask<IOutboxStore> CreateStoreAsync(TimeSpan claimLease);

    /// <summary>An open connection of the app to this test's database, on which it begins its transactions.</summary>
    protected abstract ValueTask<DbConnection> OpenAppConnectionAsync();

    /// <summary>
    /// Makes <paramref name="batch"/>'s relay vanish as a killed process does: it never completes nor gives back
    /// the batch. Returns how long other relays may have to wait for its messages.
    /// </summary>
    protected abstract ValueTask<TimeSpan> AbandonAsync(IOutboxStore store, IOutboxBatch batch);

    protected RecordingBroker Broker { get; } = new(new InMemoryBroker(TimeProvider.System));

    protected ILockStore Locks { get; } = new InMemoryLockStore(TimeProvider.System);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_disposables))
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task EnqueueAsync_TransactionRolledBack_PublishesNothing()
    {
        var app = await StartAppAsync();

        await using (var connection = await OpenAppConnectionAsync())
        {
            await using var transaction = await connection.BeginTransactionAsync();
            var result = await app.Client.EnqueueAsync(new Work(1), transaction: transaction);
            Assert.Equal(EnqueueOutcome.Deferred, result.Outcome);
            await transaction.RollbackAsync();
        }

        // Long enough for a wrong publish to show: the relay is woken by the rollback and polls every 100 ms.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Empty(Broker.Publishes);
        Assert.Equal(0, await app.Store.CountAsync(default));
    }

    [Fact]
    public async Task EnqueueAsync_TransactionCommitted_PublishedOnceWithItsIdAndOutboxEmptied()
    {
        var app = await StartAppAsync();

        var result = await CommitAsync(app, new Work(1, 7));

        await WaitUntilPublishedAsync(app, [result.TaskId]);
        Assert.Equal(1, Broker.Publishes[result.TaskId]);
        var delivery = Assert.Single(await Broker.ReceiveAsync("default", 10, TimeSpan.Zero, default));
        Assert.Equal(result.TaskId, delivery.MessageId);
        Assert.Equal(result.TaskId, (await Locks.GetAsync("solo:{work:1}:q", default))?.Owner);
    }

    [Fact]
    public async Task EnqueueAsync_TransactionCommitted_PublishedOnCommitNotAtTheNextPoll()
    {
        // A poll far beyond the wait below: only the wake on commit can publish in time.
        var app = await StartAppAsync(pollInterval: TimeSpan.FromMinutes(5));

        var result = await CommitAsync(app, new Work(1));

        await WaitUntilPublishedAsync(app, [result.TaskId], TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Relay_CommitsOfAProcessThatDiedBeforePublishing_PublishedByTheNextRelay()
    {
        var producer = await StartAppAsync(runRelay: false);
        var committed = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            committed.Add((await CommitAsync(producer, new Work(i))).TaskId);
        }

        await producer.DisposeAsync();
        Assert.Empty(Broker.Publishes);
        var restarted = await StartAppAsync();

        await WaitUntilPublishedAsync(restarted, committed);
        Assert.All(committed, id => Assert.Equal(1, Broker.Publishes[id]));
    }

    [Fact]
    public async Task Relay_TwoRelaysOverConcurrentCommits_EveryTaskPublishedExactlyOnce()
    {
        var first = await StartAppAsync(pollInterval: TimeSpan.FromMilliseconds(20));
        var second = await StartAppAsync(pollInterval: TimeSpan.FromMilliseconds(20));

        var ids = await Task.WhenAll(
            CommitManyAsync(first, Enumerable.Range(0, 300)),
            CommitManyAsync(second, Enumerable.Range(300, 300)));
        var all = ids.SelectMany(i => i).ToList();

        await WaitUntilPublishedAsync(first, all, TimeSpan.FromSeconds(60));
        Assert.Equal(600, all.Distinct().Count());
        Assert.Equal(600, Broker.Publishes.Count);
        Assert.All(Broker.Publishes, p => Assert.Equal(1, p.Value));
    }

    [Fact]
    public async Task Relay_BrokerDownWhileTransactionsCommit_NothingLostNothingPublishedTwice()
    {
        var app = await StartAppAsync(pollInterval: TimeSpan.FromMilliseconds(50));
        Broker.Down = true;

        var ids = await CommitManyAsync(app, Enumerable.Range(0, 50));
        await Task.Delay(TimeSpan.FromSeconds(1));
        var heldWhileDown = await app.Store.CountAsync(default);
        Broker.Down = false;

        Assert.Equal(50, heldWhileDown);
        Assert.Empty(Broker.Publishes);
        await WaitUntilPublishedAsync(app, ids, TimeSpan.FromSeconds(30));
        Assert.All(ids, id => Assert.Equal(1, Broker.Publishes[id]));
        Assert.Empty(await ListLocksAsync(exceptOwners: ids));
    }

    [Fact]
    public async Task Relay_RelayAndBrokerDownTogether_EverythingPublishedOnceWhenBothReturn()
    {
        var writer = await StartAppAsync(runRelay: false);
        var ids = await CommitManyAsync(writer, Enumerable.Range(0, 30));
        Broker.Down = true;

        // A relay starts while the broker is down, fails to publish, and goes down itself.
        var doomed = await StartAppAsync(pollInterval: TimeSpan.FromMilliseconds(50));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await doomed.DisposeAsync();
        var heldWhileDown = await writer.Store.CountAsync(default);
        Broker.Down = false;
        var relay = await StartAppAsync(pollInterval: TimeSpan.FromMilliseconds(50));

        Assert.Equal(30, heldWhileDown);
        await WaitUntilPublishedAsync(relay, ids, TimeSpan.FromSeconds(30));
        Assert.All(ids, id => Assert.Equal(1, Broker.Publishes[id]));
    }

    [Fact]
    public async Task Relay_OneKeyCommittedTwice_UniquenessDecidedAtPublishOneTaskQueued()
    {
        var app = await StartAppAsync(runRelay: false);
        var a = await CommitAsync(app, new Work(5, 1));
        var b = await CommitAsync(app, new Work(5, 2));
        await app.DisposeAsync();

        var relay = await StartAppAsync();
        await SoloHarness.WaitForAsync(async () => await relay.Store.CountAsync(default) == 0, "the outbox to empty", DefaultWait);

        var published = Assert.Single(Broker.Publishes);
        Assert.Equal(a.TaskId, published.Key);
        Assert.Equal(a.TaskId, (await Locks.GetAsync("solo:{work:5}:q", default))?.Owner);
        Assert.NotEqual(a.TaskId, b.TaskId);
    }

    [Fact]
    public async Task ClaimAsync_WhileAnotherRelayHoldsABatch_ClaimsOnlyTheOtherMessages()
    {
        var app = await StartAppAsync(runRelay: false);
        await CommitManyAsync(app, Enumerable.Range(0, 20));
        var storeA = await CreateTrackedStoreAsync(TimeSpan.FromMinutes(5));
        var storeB = await CreateTrackedStoreAsync(TimeSpan.FromMinutes(5));

        await using var batchA = await storeA.ClaimAsync(10, default);
        await using var batchB = await storeB.ClaimAsync(100, default);

        Assert.Equal(10, batchA.Messages.Count);
        Assert.Equal(10, batchB.Messages.Count);
        Assert.Empty(batchA.Messages.Select(m => m.TaskId).Intersect(batchB.Messages.Select(m => m.TaskId)));
        Assert.Equal(
            batchA.Messages.Select(m => m.EnqueuedAt).Order(),
            batchA.Messages.Select(m => m.EnqueuedAt));
    }

    [Fact]
    public async Task ClaimAsync_BatchGivenBackUncompleted_ClaimedAgainAtOnce()
    {
        var app = await StartAppAsync(runRelay: false);
        var id = (await CommitAsync(app, new Work(1))).TaskId;
        var storeA = await CreateTrackedStoreAsync(TimeSpan.FromMinutes(5));
        var storeB = await CreateTrackedStoreAsync(TimeSpan.FromMinutes(5));

        await using (var batch = await storeA.ClaimAsync(10, default))
        {
            Assert.Equal(id, Assert.Single(batch.Messages).TaskId);
        }

        await using var again = await storeB.ClaimAsync(10, default);
        Assert.Equal(id, Assert.Single(again.Messages).TaskId);
    }

    [Fact]
    public async Task ClaimAsync_BatchOfARelayThatVanished_ClaimedByAnotherRelay()
    {
        var app = await StartAppAsync(runRelay: false);
        var id = (await CommitAsync(app, new Work(1))).TaskId;
        var dying = await CreateStoreAsync(TimeSpan.FromSeconds(1));
        var survivor = await CreateTrackedStoreAsync(TimeSpan.FromSeconds(1));

        var batch = await dying.ClaimAsync(10, default);
        Assert.Single(batch.Messages);
        var wait = await AbandonAsync(dying, batch);

        IReadOnlyList<OutboxMessage> reclaimed = [];
        await SoloHarness.WaitForAsync(
            async () =>
            {
                await using var next = await survivor.ClaimAsync(10, default);
                reclaimed = next.Messages;
                return reclaimed.Count > 0;
            },
            "the vanished relay's batch to be claimable",
            wait + TimeSpan.FromSeconds(10));
        Assert.Equal(id, Assert.Single(reclaimed).TaskId);
    }

    [Fact]
    public async Task CompleteAsync_PublishedBatch_RemovedForEveryRelay()
    {
        var app = await StartAppAsync(runRelay: false);
        await CommitManyAsync(app, Enumerable.Range(0, 3));
        var store = await CreateTrackedStoreAsync(TimeSpan.FromMinutes(5));

        await using (var batch = await store.ClaimAsync(10, default))
        {
            await batch.CompleteAsync(default);
        }

        await using var after = await store.ClaimAsync(10, default);
        Assert.Empty(after.Messages);
        Assert.Equal(0, await store.CountAsync(default));
    }

    /// <summary>An app process: client, tasks, broker and locks of this test, the outbox on a store of its own.</summary>
    protected async Task<OutboxApp> StartAppAsync(TimeSpan? pollInterval = null, bool runRelay = true)
    {
        var store = await CreateStoreAsync(TimeSpan.FromSeconds(30));
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new Probe());
        services.AddSolo(s => s
            .AddTask<WorkTask, Work>("work", t => t.Unique(u => u.Coalesce().Key(w => w.Key)))
            .UseBroker(_ => Broker)
            .UseLockStore(_ => Locks)
            .UseOutbox(_ => store, o =>
            {
                o.PollInterval = pollInterval ?? TimeSpan.FromMilliseconds(100);
                o.RunRelay = runRelay;
                o.MaxRetryDelay = TimeSpan.FromMilliseconds(200);
            }));
        var app = new OutboxApp(services.BuildServiceProvider(), store);
        _disposables.Add(app);
        await app.StartAsync();
        return app;
    }

    protected async Task<EnqueueResult> CommitAsync(OutboxApp app, Work work)
    {
        await using var connection = await OpenAppConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var result = await app.Client.EnqueueAsync(work, transaction: transaction);
        await transaction.CommitAsync();
        return result;
    }

    protected async Task<List<string>> CommitManyAsync(OutboxApp app, IEnumerable<int> keys)
    {
        var ids = new List<string>();
        foreach (var key in keys)
        {
            ids.Add((await CommitAsync(app, new Work(key))).TaskId);
        }

        return ids;
    }

    protected async Task WaitUntilPublishedAsync(OutboxApp app, IReadOnlyCollection<string> ids, TimeSpan? timeout = null)
    {
        await SoloHarness.WaitForAsync(() => Task.FromResult(ids.All(Broker.Publishes.ContainsKey)), $"{ids.Count} task(s) to be published", timeout ?? DefaultWait);
        await SoloHarness.WaitForAsync(async () => await app.Store.CountAsync(default) == 0, "the outbox to empty", timeout ?? DefaultWait);
    }

    private async Task<IOutboxStore> CreateTrackedStoreAsync(TimeSpan claimLease)
    {
        var store = await CreateStoreAsync(claimLease);
        if (store is IAsyncDisposable disposable)
        {
            _disposables.Add(disposable);
        }

        return store;
    }

    private async Task<List<LockInfo>> ListLocksAsync(IReadOnlyCollection<string> exceptOwners)
    {
        var locks = new List<LockInfo>();
        await foreach (var info in Locks.ListAsync("solo:", default))
        {
            if (!exceptOwners.Contains(info.Owner))
            {
                locks.Add(info);
            }
        }

        return locks;
    }

    /// <summary>One app process of a test: its service provider, with the outbox relay started.</summary>
    protected sealed class OutboxApp(ServiceProvider provider, IOutboxStore store) : IAsyncDisposable
    {
        private bool _disposed;

        public ISoloClient Client => provider.GetRequiredService<ISoloClient>();

        public IOutboxStore Store => store;

        public async Task StartAsync()
        {
            foreach (var service in provider.GetServices<IHostedService>())
            {
                await service.StartAsync(default);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var service in provider.GetServices<IHostedService>())
            {
                await service.StopAsync(default);
            }

            await provider.DisposeAsync();
        }
    }
}
