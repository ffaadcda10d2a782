using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace LoanRecompute.Tests.Support;

/// <summary>
/// The run every backend fault test shares: three workers and back-to-back producers on one backend, a fault
/// that strikes mid-run, then verify, whose report must be clean, and the checks that follow from the fault.
/// </summary>
/// <param name="output">Where the figures and, on failure, the evidence go.</param>
/// <param name="backend">The backend options every command gets (empty for the SQLite default).</param>
internal sealed class FaultScenario(ITestOutputHelper output, string[] backend)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(30);

    /// <summary>Producers commit each event with its enqueue through the outbox.</summary>
    public bool Transactional { get; init; }

    /// <summary>The broker's delivery lease of the workers (<c>--lease</c>), in seconds.</summary>
    public int LeaseSeconds { get; init; } = 2;

    /// <summary>
    /// The run slot's lease (<c>--run-lease</c>), in seconds. The default bounds how long a lock whose owner
    /// was killed between its ack and its release can stay.
    /// </summary>
    public int RunLeaseSeconds { get; init; } = 10;

    /// <summary>
    /// The simulated work of a run (<c>--task-ms</c>). The default, 10-30 ms, keeps every worker busy with
    /// several runs at any moment, so that a fault lands mid-task.
    /// </summary>
    public string TaskMs { get; init; } = "10-30";

    /// <summary>
    /// False (the default): each task cut off by a kill must itself succeed afterwards, which holds while its
    /// run slot outlives its redelivery (the redelivery reclaims the slot as its owner). True where run slots
    /// may expire first (stalls longer than the run lease): then another task of the loan may take the slot,
    /// and the redelivered task, meeting it at start, may be dropped as covered by the loan's pending task
    /// (the contract: every event is followed by a run that started after it). It then suffices that a run
    /// of the loan that started after the kill succeeded.
    /// </summary>
    public bool KilledTaskMayBeCovered { get; init; }

    /// <summary>Describes the backend's own state (its lock keys, say) when verify fails; null when there is nothing to add.</summary>
    public Func<string>? DescribeBackend { get; init; }

    /// <summary>Runs the scenario with <paramref name="fault"/>; returns verify's report once every check passed.</summary>
    public async Task<JsonElement> RunAsync(Func<FaultRun, Task> fault)
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);
        await using var processes = new ProcessGroup();

        // A short delivery lease brings a lost delivery back soon.
        string[] WorkerArgs(int seed) =>
            ["worker", "--db", db, .. backend, "--concurrency", "4", "--task-ms", TaskMs, "--lease", Text(LeaseSeconds), "--run-lease", Text(RunLeaseSeconds), "--seed", Text(seed)];
        var run = new FaultRun(database, [.. Enumerable.Range(1, 3).Select(i => processes.Start(WorkerArgs(i)))], seed => processes.Start(WorkerArgs(seed)));

        using var faultDone = new CancellationTokenSource();
        var producing = ProduceUntilAsync(processes, db, [.. backend, .. Transactional ? ["--transactional"] : Array.Empty<string>()], faultDone.Token);
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
        output.WriteLine($"run outcomes: {string.Join(", ", (await database.RunsAsync()).GroupBy(r => r.Outcome ?? "open (killed)").OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"))}");
        if (verify.ExitCode != 0)
        {
            // Evidence for whoever reads the failure: the loans, runs and lock keys behind the figures.
            output.WriteLine(await database.DescribeProblemsAsync(run.KilledAt));
            if (DescribeBackend is not null)
            {
                output.WriteLine(DescribeBackend());
            }

            foreach (var worker in run.Workers)
            {
                output.WriteLine($"worker {worker.Pid} stderr (last 40 lines):\n{string.Join('\n', worker.StandardError.Split('\n').TakeLast(40))}");
            }
        }

        var report = AssertClean(verify, produced);

        // Each task cut off by a kill came back (same id) and succeeded after it, or was covered (see KilledTaskMayBeCovered).
        var runs = await database.RunsAsync();
        var unfinished = run.Killed
            .Where(victim => !runs.Any(r => (r.TaskId == victim.TaskId || (KilledTaskMayBeCovered && r.LoanId == victim.LoanId)) && r.StartedAt > victim.StartedAt && r.Outcome == "ok"))
            .ToList();
        Assert.True(
            unfinished.Count == 0,
            $"killed task(s) that never succeeded afterwards{(KilledTaskMayBeCovered ? " and whose loan had no successful run after them" : "")}, with the runs of their loan from the kill on:\n" + string.Join('\n', unfinished.Select(victim =>
                $"{victim.TaskId} (loan {victim.LoanId}, run {victim.RunId} started {victim.StartedAt}, pid {victim.Pid}): "
                + string.Join("; ", runs.Where(r => r.LoanId == victim.LoanId && r.RunId >= victim.RunId).Select(r => $"{r.TaskId} {r.StartedAt}-{r.EndedAt?.ToString(CultureInfo.InvariantCulture) ?? "open"} {r.Outcome ?? "-"} pid {r.Pid}")))));

        // Workers ride out every fault by themselves: none may have died of one, and each stops cleanly.
        foreach (var worker in run.Workers)
        {
            Assert.False(worker.HasExited, $"worker {worker.Pid} exited on its own\n{worker.StandardError}");
            await worker.TerminateAsync();
            var stopped = await worker.WaitAsync(GracefulStop);
            Assert.True(stopped.ExitCode == 0, $"worker {worker.Pid} after SIGTERM: {stopped}");
        }

        return report;
    }

    /// <summary>
    /// Checks verify's line: every field named as the contract says, every event produced counted, nothing
    /// lost or stale, no two lease-holding runs of a loan at once, nothing dead-lettered, no lock left.
    /// </summary>
    internal static JsonElement AssertClean(SampleRun verify, long produced)
    {
        var report = Json.Line(verify.StandardOutput);
        Assert.Equal(Json.VerifyFields, Json.Names(report));
        Assert.Equal(produced, Json.Long(report, "events"));
        Assert.Equal(0, Json.Long(report, "lost"));
        Assert.Equal(0, Json.Long(report, "staleResults"));
        Assert.Equal(1, Json.Long(report, "maxConcurrentPerKey"));
        Assert.Equal(0, Json.Long(report, "deadLettered"));
        Assert.Equal(0, Json.Long(report, "locksLeft"));
        Assert.True(verify.ExitCode == 0, verify.ToString());
        return report;
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

            retries += RetriedEnqueues(run.StandardError);
        }

        return (produced, retries);
    }

    /// <summary>
    /// Enqueues a process's log says it tried again after a backend fault: a direct enqueue retries in the
    /// producer; a transactional one is retried by an outbox relay, which runs in every process of the sample.
    /// </summary>
    internal static int RetriedEnqueues(string standardError) => standardError.Split('\n').Count(l =>
        l.StartsWith("produce: enqueue of loan", StringComparison.Ordinal) || l.Contains("Solo outbox relay: publishing failed", StringComparison.Ordinal));

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
