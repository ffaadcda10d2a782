using System.Globalization;
using LoanRecompute.Tests.Support;
using Xunit.Abstractions;

namespace LoanRecompute.Tests;

/// <summary>
/// The embedded default is durable: worker processes sharing one SQLite file are killed with SIGKILL in the
/// middle of tasks and restarted, and nothing is lost, nothing runs twice at once and no lock is left.
/// </summary>
/// <remarks>One class, so that its tests (each several processes on a small machine) run one at a time.</remarks>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Kills = 4;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Verify_WorkersKilledMidTaskAndRestarted_NothingLostOrStaleNoOverlapNoLocksLeft(bool transactional)
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);
        var random = new Random(20_260_124);
        await using var processes = new ProcessGroup();

        // A 20-50 ms task keeps every worker busy with several runs at any moment, so a kill lands
        // mid-task; a 2 s delivery lease brings a killed worker's tasks back soon. A kill between a
        // task's ack and the release of its run lock leaves that lock to its TTL (the task is gone, so
        // nothing reclaims it): a 10 s run lease keeps such a wait short.
        string[] WorkerArgs(int seed) => ["worker", "--db", db, "--concurrency", "4", "--task-ms", "20-50", "--lease", "2", "--run-lease", "10", "--seed", Text(seed)];
        var workers = Enumerable.Range(1, 3).Select(i => processes.Start(WorkerArgs(i))).ToArray();

        // Producers run one after another for as long as the kills go on, so the kills meet a busy queue.
        using var killsDone = new CancellationTokenSource();
        var producing = ProduceUntilAsync(processes, db, transactional, killsDone.Token);

        var killed = new List<RecordedRun>();
        var kills = 0;
        try
        {
            for (var attempt = 1; kills < Kills; attempt++)
            {
                Assert.True(attempt <= 3 * Kills, $"only {kills} of {attempt - 1} kills landed in the middle of a task");
                await Task.Delay(random.Next(300, 900));
                var busy = await Runs.WaitForAnyOpenAsync(database, workers, random, TimeSpan.FromSeconds(20));
                Assert.True(busy is not null, $"no worker ran a task for 20 s while producers ran\n{string.Join("\n", workers.Select(w => $"worker {w.Pid}:\n{w.StandardError}"))}");
                var index = busy.Value;
                var victim = workers[index];

                victim.Kill();
                workers[index] = processes.Start(WorkerArgs(10 + attempt));

                // The process is gone: a run of it that has not ended was cut off mid-task.
                var cut = await database.OpenRunsAsync(victim.Pid);
                if (cut.Count > 0)
                {
                    kills++;
                    killed.AddRange(cut);
                    output.WriteLine($"kill {kills}: worker {victim.Pid} during {cut.Count} task(s): {string.Join(", ", cut.Select(r => $"{r.TaskId} (loan {r.LoanId})"))}");
                }
            }
        }
        finally
        {
            // No producer starts after this; the one running finishes its events.
            await killsDone.CancelAsync();
        }

        var produced = await producing;

        var verify = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db, "--timeout", "60");
        output.WriteLine($"verify: {verify.StandardOutput.Trim()}\n{verify.StandardError.Trim()}");
        FaultScenario.AssertClean(verify, produced);

        // Each killed task came back (same id) and succeeded after its kill.
        var runs = await database.RunsAsync();
        foreach (var victim in killed)
        {
            Assert.Contains(runs, r => r.TaskId == victim.TaskId && r.StartedAt > victim.StartedAt && r.Outcome == "ok");
        }

        foreach (var worker in workers)
        {
            await worker.TerminateAsync();
            var stopped = await worker.WaitAsync(GracefulStop);
            Assert.True(stopped.ExitCode == 0, $"worker {worker.Pid} after SIGTERM: {stopped}");
        }
    }

    [Fact]
    public async Task Worker_KilledWhileRunningKey_RedeliveredTaskReclaimsRunLockLongBeforeItsTtl()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);
        await using var processes = new ProcessGroup();

        // The run lock lives 60 s unless renewed; the killed worker's task must not wait for that.
        string[] workerArgs = ["worker", "--db", db, "--concurrency", "2", "--task-ms", "2500", "--lease", "2", "--run-lease", "60"];
        var worker = processes.Start(workerArgs);
        await ProduceAsync(db, seed: 1);
        var running = await Runs.WaitForOpenAsync(database, worker.Pid, TimeSpan.FromSeconds(30));
        Assert.True(running is not null, $"the task never started\n{worker.StandardError}");

        // A second event while the first runs: its task waits behind the run lock the kill leaves.
        await ProduceAsync(db, seed: 2);
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        worker.Kill();
        Assert.Null((await database.RunsAsync()).Single(r => r.RunId == running.RunId).EndedAt);
        var restarted = processes.Start(workerArgs);

        var next = await Runs.WaitForAsync(database, r => r.LoanId == running.LoanId && r.RunId > running.RunId, TimeSpan.FromSeconds(45));
        Assert.True(next is not null, $"no run of loan {running.LoanId} after the kill\n{restarted.StandardError}");
        var reclaim = TimeSpan.FromMilliseconds(next.StartedAt - killedAt);
        output.WriteLine($"kill to next run start of loan {running.LoanId}: {reclaim.TotalMilliseconds:0} ms (run lease 60 s, delivery lease 2 s)");

        // The killed task itself runs next, on its own run lock: neither the waiting task nor the TTL decided it.
        Assert.Equal(running.TaskId, next.TaskId);
        Assert.True(reclaim < TimeSpan.FromSeconds(15), $"the next run started {reclaim.TotalSeconds:0.0} s after the kill");

        var verify = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db, "--timeout", "60");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var report = Json.Line(verify.StandardOutput);
        Assert.Equal(2, Json.Long(report, "events"));
        Assert.Equal(1, Json.Long(report, "maxConcurrentPerKey"));

        await restarted.TerminateAsync();
        Assert.Equal(0, (await restarted.WaitAsync(GracefulStop)).ExitCode);
    }

    [Fact]
    public async Task Verify_TransactionalProducerKilledWithCommittedEnqueuesUnpublished_RestartPublishesThemNothingLostOrStale()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);
        await using var processes = new ProcessGroup();

        // No worker yet, so only the producer's own relay publishes: a kill while the outbox holds rows
        // leaves enqueues that were committed with their loan's bump and never published.
        var orphaned = 0L;
        for (var attempt = 1; orphaned == 0; attempt++)
        {
            Assert.True(attempt <= 5, "no kill of the producer caught committed enqueues in the outbox");
            var producer = processes.Start("produce", "--db", db, "--events", "5000", "--loans", "50", "--transactional", "--seed", Text(attempt));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (await database.OutboxCountAsync() == 0 && !producer.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5);
            }

            producer.Kill();
            orphaned = await database.OutboxCountAsync();
            output.WriteLine($"producer {producer.Pid} killed (attempt {attempt}) with {orphaned} committed enqueue(s) in the outbox");
        }

        // The restarted producer's relay publishes what the killed one left, then its own, and exits once the outbox is empty.
        var restarted = await SampleProcess.RunAsync(CommandTimeout, "produce", "--db", db, "--events", "200", "--loans", "50", "--transactional", "--seed", "99");
        Assert.True(restarted.ExitCode == 0, $"restarted produce failed: {restarted}");
        Assert.Equal(0, await database.OutboxCountAsync());

        var workers = Enumerable.Range(1, 2).Select(i => processes.Start("worker", "--db", db, "--concurrency", "4", "--task-ms", "1-3", "--seed", Text(i))).ToArray();
        var verify = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db, "--timeout", "60");
        output.WriteLine($"verify: {verify.StandardOutput.Trim()}\n{verify.StandardError.Trim()}");
        var report = Json.Line(verify.StandardOutput);
        Assert.Equal(0, Json.Long(report, "lost"));
        Assert.Equal(0, Json.Long(report, "staleResults"));
        Assert.Equal(1, Json.Long(report, "maxConcurrentPerKey"));
        Assert.Equal(0, Json.Long(report, "locksLeft"));
        Assert.True(verify.ExitCode == 0, verify.ToString());

        foreach (var worker in workers)
        {
            await worker.TerminateAsync();
            Assert.Equal(0, (await worker.WaitAsync(GracefulStop)).ExitCode);
        }
    }

    private static async Task ProduceAsync(string db, int seed)
    {
        var run = await SampleProcess.RunAsync(CommandTimeout, "produce", "--db", db, "--events", "1", "--loans", "1", "--seed", Text(seed));
        Assert.True(run.ExitCode == 0, $"produce failed: {run}");
    }

    /// <summary>Runs producers one after another until <paramref name="stop"/>; returns the events they produced.</summary>
    private static async Task<long> ProduceUntilAsync(ProcessGroup processes, string db, bool transactional, CancellationToken stop)
    {
        var produced = 0L;
        for (var seed = 1; !stop.IsCancellationRequested; seed++)
        {
            string[] args = ["produce", "--db", db, "--events", "1500", "--loans", "40", "--seed", Text(seed), .. transactional ? ["--transactional"] : Array.Empty<string>()];
            var run = await processes.Start(args).WaitAsync(CommandTimeout);
            Assert.True(run.ExitCode == 0, $"produce failed: {run}");
            produced += Json.Long(Json.Line(run.StandardOutput), "events");
        }

        return produced;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
