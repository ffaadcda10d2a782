using Microsoft.Extensions.DependencyInjection;
using Solo.Brokers;
using Solo.InMemory;
using Solo.Locks;
using Solo.Sqlite.Tests.Support;
using Solo.Tests.Support;

namespace Solo.Sqlite.Tests.DependencyInjection;

/// <summary>How apps get the SQLite backend: by naming it, or by naming no backend at all.</summary>
public sealed class SqliteSoloBuilderExtensionsTests : IDisposable
{
    private readonly TempDatabase _file = new();

    public void Dispose() => _file.Dispose();

    [Fact]
    public async Task AddSolo_NoBackendNamed_UsesSqliteAtTheDefaultPathForBoth()
    {
        var services = new ServiceCollection();
        services.AddSolo(solo => solo.AddTask<WorkTask, Work>("work"));
        await using var provider = services.BuildServiceProvider();

        var broker = Assert.IsType<SqliteBroker>(provider.GetRequiredService<IBroker>());
        var locks = Assert.IsType<SqliteLockStore>(provider.GetRequiredService<ILockStore>());

        Assert.Equal(Path.GetFullPath(SqliteOptions.DefaultPath), broker.DatabasePath);
        Assert.Equal(broker.DatabasePath, locks.DatabasePath);
        Assert.Equal("solo.db", SqliteOptions.DefaultPath);
    }

    [Fact]
    public async Task AddSolo_OnlyABrokerNamed_TakesTheLockStoreFromSqlite()
    {
        var services = new ServiceCollection();
        services.AddSolo(solo => solo.UseBroker(sp => new InMemoryBroker(sp.GetRequiredService<TimeProvider>())));
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<InMemoryBroker>(provider.GetRequiredService<IBroker>());
        Assert.IsType<SqliteLockStore>(provider.GetRequiredService<ILockStore>());
    }

    [Fact]
    public async Task UseSqlite_Path_RegistersBothOnThatFileAsSingletons()
    {
        var services = new ServiceCollection();
        services.AddSolo(solo => solo.UseSqlite(_file.Path));
        await using var provider = services.BuildServiceProvider();

        var broker = Assert.IsType<SqliteBroker>(provider.GetRequiredService<IBroker>());
        var locks = Assert.IsType<SqliteLockStore>(provider.GetRequiredService<ILockStore>());

        Assert.Equal(_file.Path, broker.DatabasePath);
        Assert.Equal(_file.Path, locks.DatabasePath);
        Assert.Same(broker, provider.GetRequiredService<IBroker>());
        await broker.PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default);
        await locks.TryAcquireAsync("k", "owner", TimeSpan.FromMinutes(1), default);
        Assert.Equal(1L, await RawSqlite.ScalarAsync(_file.Path, "SELECT COUNT(*) FROM solo_locks"));
    }

    [Fact]
    public async Task UseSqlite_ProviderDisposed_ClosesTheFile()
    {
        var services = new ServiceCollection();
        services.AddSolo(solo => solo.UseSqlite(_file.Path));
        await using (var provider = services.BuildServiceProvider())
        {
            await provider.GetRequiredService<IBroker>().PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default);
        }

        // The last connection to close checkpoints the WAL into the file and deletes it.
        Assert.False(File.Exists(_file.Path + "-wal"), "the WAL file is still there: a connection was left open");
    }

    [Fact]
    public void UseSqlite_InvalidSettings_ThrowsAtRegistration()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddSolo(solo => solo.UseSqlite(_file.Path, o => o.DeliveryLease = TimeSpan.Zero)));
        Assert.Throws<ArgumentException>(() => services.AddSolo(solo => solo.UseSqlite(" ")));
    }

    [Fact]
    public async Task Worker_CorruptRowInTheQueue_DeadLettersItWithTheReasonAndStillRunsValidTasks()
    {
        await using var app = NewApp();
        await app.Broker.GetCountsAsync("default", default);
        await RawSqlite.ExecuteAsync(
            _file.Path,
            "INSERT INTO solo_messages (queue, id, body, not_before) VALUES ('default', 'corrupt-1', $body, 0)",
            ("$body", "this is not an envelope"u8.ToArray()));
        await app.StartWorkerAsync();

        var enqueued = await app.Client.EnqueueAsync(new Work(1, 42));

        await SoloHarness.WaitForAsync(async () => app.Probe.Completions.Count == 1 && (await app.Broker.GetCountsAsync("default", default)).Pending == 0, "the valid task ran and the queue drained", TimeSpan.FromSeconds(15));
        var letter = Assert.Single(await app.Broker.GetDeadLettersAsync("default", 10, default));
        Assert.Equal("corrupt-1", letter.MessageId);
        Assert.Contains("malformed", letter.Reason, StringComparison.Ordinal);
        Assert.Equal("this is not an envelope"u8.ToArray(), letter.Body.ToArray());
        var (args, context) = Assert.Single(app.Probe.Completions);
        Assert.Equal((new Work(1, 42), enqueued.TaskId), (args, context.TaskId));
    }

    [Fact]
    public async Task Worker_UniqueTasksAcrossTwoApps_CoalesceOnTheSharedFile()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var web = NewApp(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));
        await using var worker = NewApp(t => t.Unique(u => u.Coalesce().Key(w => w.Key)));
        worker.Probe.OnRun = (_, _, ct) => release.Task.WaitAsync(ct);
        await worker.StartWorkerAsync();

        var first = await web.Client.EnqueueAsync(new Work(7, 1));
        await SoloHarness.WaitForAsync(() => Task.FromResult(worker.Probe.Running == 1), "the first run started", TimeSpan.FromSeconds(15));
        var second = await web.Client.EnqueueAsync(new Work(7, 2));
        var third = await web.Client.EnqueueAsync(new Work(7, 3));
        release.SetResult();

        Assert.Equal(EnqueueOutcome.Enqueued, first.Outcome);
        Assert.Equal(EnqueueOutcome.Enqueued, second.Outcome);
        Assert.Equal(EnqueueOutcome.Duplicate, third.Outcome);
        await SoloHarness.WaitForAsync(() => Task.FromResult(worker.Probe.Completions.Count == 2), "both runs completed", TimeSpan.FromSeconds(15));
        Assert.Equal(1, worker.Probe.MaxRunning);
    }

    /// <summary>An app on the test's file as a user writes it: <c>UseSqlite(path)</c>, two runners.</summary>
    private SoloHarness NewApp(Action<TaskBuilder<Work>>? task = null) => SoloHarness.CreateApp(
        s => s.UseSqlite(_file.Path, o => o.PollInterval = TimeSpan.FromMilliseconds(20)),
        task,
        w =>
        {
            w.Concurrency = 2;
            w.ReceiveWait = TimeSpan.FromMilliseconds(200);
        });
}
