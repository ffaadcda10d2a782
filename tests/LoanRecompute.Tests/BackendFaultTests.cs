using System.Diagnostics;
using System.Globalization;
using LoanRecompute.Tests.Support;
using Xunit.Abstractions;

namespace LoanRecompute.Tests;

/// <summary>
/// The server backends under real faults: worker processes on RabbitMQ or Redis Streams, with locks in Redis,
/// are killed with SIGKILL mid-task, or the Redis or RabbitMQ server is stopped and started again while
/// producers and workers run. Afterwards verify must find nothing lost or stale, no two runs of a loan at
/// once and no lock left.
/// </summary>
/// <remarks>
/// One class, so that its tests run one after another on the servers they share (each test has a Redis
/// database of its own; the RabbitMQ queue is the same, which is fine because each test ends drained).
/// </remarks>
public sealed class BackendFaultTests(BackendServers servers, ITestOutputHelper output) : IClassFixture<BackendServers>
{
    private const int Kills = 3;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(30);

    // Long enough for the clients to notice that the server is gone, short enough to keep the run short.
    private static readonly TimeSpan Outage = TimeSpan.FromMilliseconds(1500);

    [Fact]
    public Task Verify_RabbitMQBrokerRedisLocksWorkersKilledMidTask_NothingLostOrStaleNoOverlapNoLocksLeft() =>
        RunAsync(RabbitMQWithRedisLocks(), KillWorkersAsync);

    [Fact]
    public Task Verify_RabbitMQBrokerRedisLocksRedisRestartedDuringRun_NothingLostOrStaleNoOverlapNoLocksLeft() =>
        RunAsync(RabbitMQWithRedisLocks(), run => RestartAsync(run, servers.Redis, "redis", expectProducerRetries: true));

    [Fact]
    public Task Verify_RabbitMQBrokerRedisLocksRabbitMQRestartedDuringRun_NothingLostOrStaleNoOverlapNoLocksLeft() =>
        RunAsync(RabbitMQWithRedisLocks(), run => RestartAsync(run, servers.RabbitMQ, "rabbitmq", expectProducerRetries: false));

    [Fact]
    public Task Verify_TransactionalProducersRabbitMQRestartedDuringRun_OutboxRelaysRideItOutNothingLostOrStale() =>
        RunAsync(RabbitMQWithRedisLocks(), run => RestartAsync(run, servers.RabbitMQ, "rabbitmq", expectProducerRetries: true), transactional: true);

    [Fact]
    public Task Verify_RedisStreamsBrokerRedisLocksWorkersKilledMidTask_NothingLostOrStaleNoOverlapNoLocksLeft() =>
        RunAsync(["--broker", "redis", "--locks", "redis", "--redis", servers.NewRedisConfiguration()], KillWorkersAsync);

    private string[] RabbitMQWithRedisLocks() =>
        ["--broker", "rabbitmq", "--rabbitmq", servers.RabbitMQUri, "--locks", "redis", "--redis", servers.NewRedisConfiguration()];

    /// <summary>Three workers and back-to-back producers on <paramref name="backend"/>; <paramref name="fault"/> strikes mid-run; then verify.</summary>
    private async Task RunAsync(string[] backend, Func<FaultRun, Task> fault, bool transactional = false)
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);
        await using var processes = new ProcessGroup();

        // A 10-30 ms task keeps every worker busy with several runs at any moment, so a fault lands
        // mid-task; a 2 s delivery lease brings a lost delivery back soon; a 10 s run lease bounds how long
        // a lock whose owner was killed between its ack and its release can stay.
        string[] WorkerArgs(int seed) =>
            ["worker", "--db", db, .. backend, "--concurrency", "4", "--task-ms", "10-30", "--lease", "2", "--run-lease", "10", "--seed", Text(seed)];
        var run = new FaultRun(database, [.. Enumerable.Range(1, 3).Select(i => processes.Start(WorkerArgs(i)))], seed => processes.Start(WorkerArgs(seed)));

        using var faultDone = new CancellationTokenSource();
        var producing = ProduceUntilAsync(processes, db, [.. backend, .. transactional ? ["--transactional"] : Array.Empty<string>()], faultDone.Token);
        try
        {
            Assert.True(
                await Runs.WaitForAsync(database, _ => true, TimeSpan.FromSeconds(60)) is not null,
                $"no worker ran a task\n{string.Join("\n", run.Workers.Select(w => w.StandardError))}");
            await fault(run);

            // Some work after the fault too, so that what recovered is exercised, not just what survived.
            await Task.Delay(1000);
        }
        finally
        {
            // No producer starts after this; the one running finishes its events.
            await faultDone.CancelAsync();
        }

        var (produced, retries) = await producing;
        output.WriteLine($"produced {produced} events; {retries} enqueue(s) or outbox batches retried after BackendUnavailableException");
        run.ProducerRetries = retries;
        foreach (var check in run.AfterProduce)
        {
            check();
        }

        var verify = await SampleProcess.RunAsync(CommandTimeout, ["verify", "--db", db, .. backend, "--timeout", "90"]);
        output.WriteLine($"verify: {verify.StandardOutput.Trim()}\n{verify.StandardError.Trim()}");
        var report = Json.Line(verify.StandardOutput);
        if (verify.ExitCode != 0)
        {
            // Evidence for whoever reads the failure: the loans, runs and lock keys behind the figures.
            output.WriteLine(await database.DescribeProblemsAsync(run.KilledAt));
            output.WriteLine(servers.DescribeRedisKeys(backend[^1]));
        }

        Assert.Equal(Json.VerifyFields, Json.Names(report));
        Assert.Equal(produced, Json.Long(report, "events"));
        Assert.Equal(0, Json.Long(report, "lost"));
        Assert.Equal(0, Json.Long(report, "staleResults"));
        Assert.Equal(1, Json.Long(report, "maxConcurrentPerKey"));
        Assert.Equal(0, Json.Long(report, "deadLettered"));
        Assert.Equal(0, Json.Long(report, "locksLeft"));
        Assert.True(verify.ExitCode == 0, verify.ToString());

        // Each task cut off by a kill came back (same id) and succeeded after it.
        var runs = await database.RunsAsync();
        foreach (var victim in run.Killed)
        {
            Assert.Contains(runs, r => r.TaskId == victim.TaskId && r.StartedAt > victim.StartedAt && r.Outcome == "ok");
        }

        // Workers ride out a server restart by themselves: none may have died of it, and each stops cleanly.
        foreach (var worker in run.Workers)
        {
            Assert.False(worker.HasExited, $"worker {worker.Pid} exited on its own\n{worker.StandardError}");
            await worker.TerminateAsync();
            var stopped = await worker.WaitAsync(GracefulStop);
            Assert.True(stopped.ExitCode == 0, $"worker {worker.Pid} after SIGTERM: {stopped}");
        }
    }

    /// <summary>kill -9 a random worker in the middle of a task, restart it, until <see cref="Kills"/> kills landed mid-task.</summary>
    private async Task KillWorkersAsync(FaultRun run)
    {
        var random = new Random(20_260_125);
        var kills = 0;
        for (var attempt = 1; kills < Kills; attempt++)
        {
            Assert.True(attempt <= 3 * Kills, $"only {kills} of {attempt - 1} kills landed in the middle of a task");
            await Task.Delay(random.Next(300, 900));
            var index = random.Next(run.Workers.Length);
            var victim = run.Workers[index];
            Assert.True(
                await Runs.WaitForOpenAsync(run.Database, victim.Pid, TimeSpan.FromSeconds(20)) is not null,
                $"worker {victim.Pid} never ran a task\n{victim.StandardError}");

            // Taken before the signal: the killed run cannot have ended later than its process's death,
            // and its task can be redelivered only after that death (the consumer's connection closes with
            // the process), so this is a sound end for the killed run that never hides a real overlap.
            var deadAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            victim.Kill();

            // Verify, reading only the database, bounds a killed run's end by its worker's last heartbeat
            // plus two intervals (500 ms). RabbitMQ hands a killed consumer's messages to another one as soon
            // as the connection drops, well inside that bound, so the redelivered run (same task id,
            // reclaiming its own run slot) would count as overlapping the killed one although the killed
            // process was already gone. So the test records the moment it sent the signal as the worker's
            // stop: an upper bound of the killed run's end, tighter than the heartbeat's.
            run.KilledAt[victim.Pid] = deadAt;
            await run.Database.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"UPDATE workers SET stopped_at = {deadAt} WHERE pid = {victim.Pid} AND stopped_at IS NULL"));
            run.Workers[index] = run.StartWorker(10 + attempt);

            // The process is gone: a run of it that has not ended was cut off mid-task.
            var cut = await run.Database.OpenRunsAsync(victim.Pid);
            if (cut.Count > 0)
            {
                kills++;
                run.Killed.AddRange(cut);
                output.WriteLine($"kill {kills}: worker {victim.Pid} during {cut.Count} task(s): {string.Join(", ", cut.Select(r => $"{r.TaskId} (loan {r.LoanId})"))}");
            }
        }
    }

    /// <summary>Stops <paramref name="server"/> while workers run tasks and a producer enqueues, waits, starts it again.</summary>
    private async Task RestartAsync(FaultRun run, ServerScript server, string name, bool expectProducerRetries)
    {
        // Mid-run: workers have tasks in hand when the server goes.
        await Task.Delay(500);
        var open = 0;
        foreach (var worker in run.Workers)
        {
            open += (await run.Database.OpenRunsAsync(worker.Pid)).Count;
        }

        var clock = Stopwatch.StartNew();
        await server.StopAsync();
        var stopped = clock.Elapsed;
        await Task.Delay(Outage);
        await server.StartAsync();
        output.WriteLine($"{name}: stopped with {open} run(s) open in {stopped.TotalSeconds:0.0} s, down {Outage.TotalSeconds:0.0} s more, started again {clock.Elapsed.TotalSeconds:0.0} s after the stop began");

        if (expectProducerRetries)
        {
            // Proof that the outage met the producer: enqueues failed and were tried again.
            run.AfterProduce.Add(() => Assert.True(run.ProducerRetries > 0, $"no enqueue failed while {name} was down: the restart missed the producer"));
        }
    }

    /// <summary>Runs producers one after another until <paramref name="stop"/>; returns the events they produced and the enqueues they retried.</summary>
    private static async Task<(long Produced, int Retries)> ProduceUntilAsync(ProcessGroup processes, string db, string[] backend, CancellationToken stop)
    {
        var produced = 0L;
        var retries = 0;
        for (var seed = 1; !stop.IsCancellationRequested; seed++)
        {
            var run = await processes.Start(["produce", "--db", db, .. backend, "--events", "1000", "--loans", "40", "--seed", Text(seed)]).WaitAsync(CommandTimeout);
            Assert.True(run.ExitCode == 0, $"produce failed: {run}");
            produced += Json.Long(Json.Line(run.StandardOutput), "events");
            // A direct enqueue retries in the producer; a transactional one is retried by the producer's outbox relay.
            retries += run.StandardError.Split('\n').Count(l =>
                l.StartsWith("produce: enqueue of loan", StringComparison.Ordinal) || l.Contains("Solo outbox relay: publishing failed", StringComparison.Ordinal));
        }

        return (produced, retries);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
