using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Solo.Outbox;
using Solo.Sqlite;
using Solo.Tests.Support;

namespace Solo.EntityFrameworkCore.Tests;

/// <summary>
/// Enqueues joined to a DbContext's transaction, on a real SQLite file that holds the app's table, Solo's
/// outbox and (as the embedded default) Solo's queue; the relay and a worker run as an app would run them.
/// </summary>
public sealed class SoloDbContextExtensionsTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "solo-ef-tests", Guid.NewGuid().ToString("N"));
    private ServiceProvider _services = null!;
    private Probe _probe = null!;

    private string DbPath => Path.Combine(_folder, "app.db");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        _probe = new Probe();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(_probe);
        services.AddDbContext<LoanContext>(o => o.UseSqlite($"Data Source={DbPath}"));
        services.AddSolo(s => s
            .AddTask<WorkTask, Work>("work", t => t.Unique(u => u.Coalesce().Key(w => w.Key)))
            .UseSqlite(DbPath)
            .UseSqliteOutbox(DbPath, o => o.PollInterval = TimeSpan.FromMinutes(5)));
        services.AddSoloWorker(w => w.ReceiveWait = TimeSpan.FromMilliseconds(50));
        _services = services.BuildServiceProvider();
        await using (var scope = _services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<LoanContext>().Database.EnsureCreatedAsync();
        }

        foreach (var hosted in _services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(default);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var hosted in _services.GetServices<IHostedService>().Reverse())
        {
            await hosted.StopAsync(default);
        }

        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task EnqueueAsync_ContextTransactionCommitted_TaskRunsOnceAfterTheChangesAreVisible()
    {
        string taskId;
        await using (var scope = _services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LoanContext>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Loans.Add(new Loan { Id = 42, Version = 1 });
            await db.SaveChangesAsync();
            var result = await Client.EnqueueAsync(new Work(42), db);
            await transaction.CommitAsync();
            Assert.Equal(EnqueueOutcome.Deferred, result.Outcome);
            taskId = result.TaskId;
        }

        // The relay polls every 5 minutes here: only the wake on commit can start the task this soon.
        await SoloHarnessWait(() => _probe.Completions.Count == 1, "the task to run");
        Assert.Equal(taskId, Assert.Single(_probe.Completions).Context.TaskId);
        Assert.Equal(0, await Outbox.CountAsync(default));
    }

    [Fact]
    public async Task EnqueueAsync_ContextTransactionRolledBack_NothingSavedNothingRuns()
    {
        await using (var scope = _services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LoanContext>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Loans.Add(new Loan { Id = 7, Version = 1 });
            await db.SaveChangesAsync();
            await Client.EnqueueAsync(new Work(7), db);
            await transaction.RollbackAsync();
        }

        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await using var check = _services.CreateAsyncScope();
        Assert.Empty(await check.ServiceProvider.GetRequiredService<LoanContext>().Loans.ToListAsync());
        Assert.Empty(_probe.Starts);
        Assert.Equal(0, await Outbox.CountAsync(default));
    }

    [Fact]
    public async Task EnqueueAsync_NoTransactionOpen_ThrowsSayingToBeginOne()
    {
        await using var scope = _services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LoanContext>();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Client.EnqueueAsync(new Work(1), db));

        Assert.Contains("BeginTransactionAsync", ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(LoanContext), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnqueueManyAsync_OneTransaction_AllRunAfterCommit()
    {
        await using (var scope = _services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LoanContext>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            var results = await Client.EnqueueManyAsync([new Work(1), new Work(2), new Work(3)], db);
            Assert.All(results, r => Assert.Equal(EnqueueOutcome.Deferred, r.Outcome));
            Assert.Empty(_probe.Starts);
            await transaction.CommitAsync();
        }

        await SoloHarnessWait(() => _probe.Completions.Count == 3, "three tasks to run");
    }

    private ISoloClient Client => _services.GetRequiredService<ISoloClient>();

    private IOutboxStore Outbox => _services.GetRequiredService<IOutboxStore>();

    private static Task SoloHarnessWait(Func<bool> condition, string what) => SoloHarness.WaitForAsync(condition, what, TimeSpan.FromSeconds(20));

    private sealed class LoanContext(DbContextOptions<LoanContext> options) : DbContext(options)
    {
        public DbSet<Loan> Loans => Set<Loan>();
    }

    private sealed class Loan
    {
        public int Id { get; set; }

        public int Version { get; set; }
    }
}
