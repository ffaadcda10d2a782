using System.Diagnostics;
using System.Globalization;
using LoanRecompute.Tests.Support;
using Xunit.Abstractions;

namespace LoanRecompute.Tests;

/// <summary>
/// Workers that stall: worker processes are frozen with SIGSTOP mid-task for 0.5 to 3 lease lengths (their
/// delivery and run leases end meanwhile, and other workers take their tasks over) and thawed with SIGCONT,
/// many times and at random, mixed with kill -9 and restart, while producers run; on every backend. A thawed
/// run must not undo a newer run's work: verify must find nothing lost or stale, no two runs of a loan at once
/// while both held their lease, and no lock left.
/// </summary>
/// <remarks>
/// A frozen process's sockets stay open and its timers do not fire, so it learns that its leases ended only
/// once it runs again, and may act on them first: that is what these tests provoke. Each test prints its
/// pauses, the stale writes the sample's fence refused and the overlaps counting the runs that had lost
/// their lease (<c>maxConcurrentPerKeyAllRuns</c>).
/// </remarks>
[Collection(ServerCollection.Name)]
public sealed class StallTests(BackendServers servers, ITestOutputHelper output)
{
    // Delivery and run leases alike, so that a pause outlives both: the broker hands the task to another
    // worker, and the lock store lets the loan's next task start, while the frozen run still thinks it runs.
    private const int LeaseSeconds = 2;
    private const int MidTaskPauses = 8;
    private const int MidTaskKills = 2;
    private const int MaxPausedAtOnce = 2;

    [Fact]
    public Task Verify_SqliteWorkersStalledPastTheirLeasesAndKilled_NothingLostOrStaleNoLeaseHoldersOverlapNoLocksLeft() =>
        Scenario([]).RunAsync(StallAsync);

    [Fact]
    public Task Verify_RedisStreamsBrokerRedisLocksWorkersStalledPastTheirLeasesAndKilled_NothingLostOrStaleNoLeaseHoldersOverlapNoLocksLeft()
    {
        var redis = servers.NewRedisConfiguration();
        return Scenario(["--broker", "redis", "--locks", "redis", "--redis", redis], () => servers.DescribeRedisKeys(redis)).RunAsync(StallAsync);
    }

    [Fact]
    public Task Verify_RabbitMQBrokerRedisLocksWorkersStalledPastTheirLeasesAndKilled_NothingLostOrStaleNoLeaseHoldersOverlapNoLocksLeft()
    {
        var redis = servers.NewRedisConfiguration();
        return Scenario(["--broker", "rabbitmq", "--rabbitmq", servers.RabbitMQUri, "--locks", "redis", "--redis", redis], () => servers.DescribeRedisKeys(redis)).RunAsync(StallAsync);
    }

    [Fact]
    public async Task Verify_PostgresBrokerPostgresLocksWorkersStalledPastTheirLeasesAndKilled_NothingLostOrStaleNoLeaseHoldersOverlapNoLocksLeft()
    {
        var postgres = await servers.NewPostgresDatabaseAsync();
        await Scenario(["--broker", "postgres", "--locks", "postgres", "--postgres", postgres]).RunAsync(StallAsync);
    }

    // Runs of 100-500 ms: a run that another worker took over while its own worker was frozen is then often
    // still running when the frozen one thaws, which is when a thawed run that acts on its old leases (writes,
    // releases a slot, requeues its task) meets a run that holds them.
    private FaultScenario Scenario(string[] backend, Func<string>? describe = null) =>
        new(output, backend) { LeaseSeconds = LeaseSeconds, RunLeaseSeconds = LeaseSeconds, TaskMs = "100-500", KilledTaskMayBeCovered = true, DescribeBackend = describe };

    /// <summary>
    /// Pauses random workers (mostly mid-task) for random lengths, at most <see cref="MaxPausedAtOnce"/> at once,
    /// and now and then kills one (paused or not) and starts another in its place, until at least
    /// <see cref="MidTaskPauses"/> pauses and <see cref="MidTaskKills"/> kills landed mid-task.
    /// </summary>
    private async Task StallAsync(FaultRun run)
    {
        var random = new Random(20_260_126);
        var lease = TimeSpan.FromSeconds(LeaseSeconds);
        var clock = Stopwatch.StartNew();

        // Pause state changes only under the gate: a resume never races the kill of the same worker.
        using var gate = new SemaphoreSlim(1, 1);
        var pausedAt = new long?[run.Workers.Length];
        var resumedAt = new long[run.Workers.Length];
        var resumes = new List<Task>();
        var thawed = new List<(int Pid, long At)>();
        var (pauses, midTaskPauses, kills, midTaskKills) = (0, 0, 0, 0);
        var lengths = new List<double>();

        async Task ResumeLaterAsync(int index, SampleProcess worker, TimeSpan after)
        {
            await Task.Delay(after);
            await gate.WaitAsync();
            try
            {
                // Killed while paused: there is nothing left to resume.
                if (run.Workers[index] == worker)
                {
                    await worker.ResumeAsync();
                    pausedAt[index] = null;
                    resumedAt[index] = FaultRun.Now();
                    thawed.Add((worker.Pid, resumedAt[index]));
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,5:0.0}s] SIGCONT worker {worker.Pid} at {resumedAt[index]}"));
                }
            }
            finally
            {
                gate.Release();
            }
        }

        try
        {
            for (var attempt = 1; midTaskPauses < MidTaskPauses || midTaskKills < MidTaskKills; attempt++)
            {
                Assert.True(attempt <= 80, $"only {midTaskPauses} pauses and {midTaskKills} kills landed mid-task in {attempt - 1} attempts");
                await Task.Delay(random.Next(200, 700));
                var index = random.Next(run.Workers.Length);
                var victim = run.Workers[index];
                var kill = midTaskKills < MidTaskKills && (midTaskPauses >= MidTaskPauses || random.Next(4) == 0);
                if (kill)
                {
                    if (pausedAt[index] is null)
                    {
                        // A running victim: one of the running workers that has a task in hand now.
                        var running = Enumerable.Range(0, run.Workers.Length).Where(i => pausedAt[i] is null).ToList();
                        var busy = await Runs.WaitForAnyOpenAsync(run.Database, [.. running.Select(i => run.Workers[i])], random, TimeSpan.FromSeconds(20));
                        Assert.True(busy is not null, $"no running worker ran a task for 20 s while producers ran\n{string.Join("\n", run.Workers.Select(w => $"worker {w.Pid}:\n{w.StandardError}"))}");
                        index = running[busy.Value];
                        victim = run.Workers[index];
                    }

                    await gate.WaitAsync();
                    try
                    {
                        // A run of a worker thawed a moment ago may have begun before its pause and not have
                        // noticed yet that it is over; killed now, verify would stretch it across the pause.
                        var wasPaused = pausedAt[index];
                        if (wasPaused is null && FaultRun.Now() - resumedAt[index] < 1000)
                        {
                            continue;
                        }

                        var cut = await run.KillAndRestartAsync(index, 100 + attempt, wasPaused);
                        pausedAt[index] = null;
                        resumedAt[index] = 0;
                        kills++;
                        midTaskKills += cut.Count > 0 ? 1 : 0;
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,5:0.0}s] kill -9 of worker {victim.Pid}{(wasPaused is null ? "" : " (paused)")} at {run.KilledAt[victim.Pid]} during {cut.Count} task(s)"));
                    }
                    finally
                    {
                        gate.Release();
                    }

                    continue;
                }

                if (pausedAt[index] is not null || pausedAt.Count(p => p is not null) >= MaxPausedAtOnce)
                {
                    continue;
                }

                // Mostly mid-task: a worker with 4 runners has a run open nearly always.
                await Runs.WaitForOpenAsync(run.Database, victim.Pid, TimeSpan.FromSeconds(5));
                var length = lease * (0.5 + (2.5 * random.NextDouble()));
                await gate.WaitAsync();
                try
                {
                    await victim.PauseAsync();
                    pausedAt[index] = FaultRun.Now();
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,5:0.0}s] SIGSTOP worker {victim.Pid} at {pausedAt[index]} for {length.TotalSeconds:0.00} s"));
                }
                finally
                {
                    gate.Release();
                }

                var open = await run.Database.OpenRunsAsync(victim.Pid);
                pauses++;
                midTaskPauses += open.Count > 0 ? 1 : 0;
                lengths.Add(length.TotalSeconds);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,5:0.0}s]   worker {victim.Pid} paused during {open.Count} task(s): {string.Join(", ", open.Select(r => $"{r.TaskId} (loan {r.LoanId})"))}"));
                resumes.Add(ResumeLaterAsync(index, victim, length));
            }
        }
        finally
        {
            // Every paused worker runs again before the run goes on, whatever failed.
            await Task.WhenAll(resumes);
        }

        // How soon a thawed worker noticed: each run it closed as lease-lost, against the moment its process
        // was resumed last before that (a run begun after its thaw that lost its lease later is not counted).
        var runs = await run.Database.RunsAsync();
        var noticed = runs
            .Where(r => r.Outcome == "lease-lost" && r.EndedAt is not null)
            .Select(r => (Run: r, Thaw: thawed.Where(t => t.Pid == r.Pid && t.At <= r.EndedAt + 50 && r.StartedAt < t.At).Select(t => (long?)t.At).Max()))
            .Where(x => x.Thaw is not null)
            .Select(x => Math.Max(0, x.Run.EndedAt!.Value - x.Thaw!.Value))
            .Order()
            .ToList();
        if (noticed.Count > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"thawed runs closed as lease-lost: {noticed.Count}, after their thaw: median {noticed[noticed.Count / 2]} ms, max {noticed[^1]} ms"));
        }

        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"stalls: {pauses} pauses ({midTaskPauses} mid-task, {lengths.Min():0.00}-{lengths.Max():0.00} s, lease {LeaseSeconds} s), {kills} kills ({midTaskKills} mid-task), in {clock.Elapsed.TotalSeconds:0.0} s"));
    }
}
