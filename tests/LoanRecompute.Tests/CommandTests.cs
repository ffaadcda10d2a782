using LoanRecompute.Tests.Support;

namespace LoanRecompute.Tests;

/// <summary>The sample's commands one at a time: the simulate contract, bad input, and what verify catches.</summary>
public sealed class CommandTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Simulate_SmallRun_PrintsTheContractLine()
    {
        var run = await SampleProcess.RunAsync(CommandTimeout, "simulate", "--events", "300", "--loans", "10", "--mode", "coalesce");

        Assert.True(run.ExitCode == 0, run.ToString());
        var summary = Json.Line(run.StandardOutput);
        Assert.Equal(["mode", "events", "enqueued", "duplicates", "executions", "maxConcurrentPerKey", "staleResults", "elapsedMs"], Json.Names(summary));
        Assert.Equal("coalesce", summary.GetProperty("mode").GetString());
        Assert.Equal(300, Json.Long(summary, "events"));
        Assert.Equal(300, Json.Long(summary, "enqueued") + Json.Long(summary, "duplicates"));
        Assert.Equal(1, Json.Long(summary, "maxConcurrentPerKey"));
        Assert.Equal(0, Json.Long(summary, "staleResults"));
    }

    [Theory]
    [InlineData("invalid value '0' for --lease", "worker", "--db", "x.db", "--lease", "0")]
    [InlineData("invalid value 'x' for --run-lease", "worker", "--db", "x.db", "--run-lease", "x")]
    [InlineData("worker needs option --db", "worker")]
    [InlineData("produce needs option --loans", "produce", "--db", "x.db", "--events", "5")]
    [InlineData("unknown option '--events' for verify", "verify", "--db", "x.db", "--events", "5")]
    [InlineData("unknown command 'serve'", "serve")]
    public async Task Main_InvalidCommandLine_ExitsTwoNamingTheProblem(string message, params string[] args)
    {
        var run = await SampleProcess.RunAsync(CommandTimeout, args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"error: {message}", run.StandardError, StringComparison.Ordinal);
        Assert.Empty(run.StandardOutput);
    }

    [Fact]
    public async Task Produce_ModeDiffersFromTheDatabases_ExitsTwo()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var first = await SampleProcess.RunAsync(CommandTimeout, "produce", "--db", db, "--events", "1", "--loans", "1", "--mode", "coalesce");
        Assert.True(first.ExitCode == 0, first.ToString());

        var second = await SampleProcess.RunAsync(CommandTimeout, "produce", "--db", db, "--events", "1", "--loans", "1", "--mode", "throttle");

        Assert.Equal(2, second.ExitCode);
        Assert.Contains("is set up for --mode coalesce", second.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_NoWorkerDrainsTheQueue_TimesOutWithExitOne()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var produce = await SampleProcess.RunAsync(CommandTimeout, "produce", "--db", db, "--events", "3", "--loans", "3");
        Assert.True(produce.ExitCode == 0, produce.ToString());

        var verify = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db, "--timeout", "2");

        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("did not drain within 2 s", verify.StandardError, StringComparison.Ordinal);
        Assert.Empty(verify.StandardOutput);
    }

    [Fact]
    public async Task Verify_RunsOfOneLoanOverlap_ReportsThemAndExitsOne()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);
        var simulate = await SampleProcess.RunAsync(CommandTimeout, "simulate", "--db", db, "--events", "50", "--loans", "5");
        Assert.True(simulate.ExitCode == 0, simulate.ToString());
        var clean = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db);
        Assert.True(clean.ExitCode == 0, clean.ToString());

        // Loan 100 ran twice at once: [1000, 2000) and [1500, 2500), both complete and fresh.
        await database.ExecuteAsync("""
            INSERT INTO loans (loan_id, version) VALUES (100, 1);
            INSERT INTO results (loan_id, version, computed_at) VALUES (100, 1, 2500);
            INSERT INTO runs (task_id, loan_id, version_read, attempt, started_at, ended_at, outcome, worker_id, pid)
            VALUES ('a', 100, 1, 1, 1000, 2000, 'ok', 'w', 1), ('b', 100, 1, 1, 1500, 2500, 'ok', 'w', 1);
            """);
        var overlap = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db);

        Assert.Equal(1, overlap.ExitCode);
        var report = Json.Line(overlap.StandardOutput);
        Assert.Equal(2, Json.Long(report, "maxConcurrentPerKey"));
        Assert.Equal(0, Json.Long(report, "lost"));
    }

    [Fact]
    public async Task Verify_KilledRunWithoutHeartbeatAndALaterRun_CountsThemAsOverlapping()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);
        var simulate = await SampleProcess.RunAsync(CommandTimeout, "simulate", "--db", db, "--events", "50", "--loans", "5");
        Assert.True(simulate.ExitCode == 0, simulate.ToString());

        // A run that never ended, by a process that left no heartbeat: nothing bounds when it stopped.
        await database.ExecuteAsync("""
            INSERT INTO loans (loan_id, version) VALUES (200, 1);
            INSERT INTO results (loan_id, version, computed_at) VALUES (200, 1, 90000);
            INSERT INTO runs (task_id, loan_id, version_read, attempt, started_at, ended_at, outcome, worker_id, pid)
            VALUES ('c', 200, 1, 1, 1000, NULL, NULL, 'gone', 1), ('c', 200, 1, 1, 60000, 90000, 'ok', 'w', 1);
            """);
        var unbounded = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db);
        Assert.Equal(2, Json.Long(Json.Line(unbounded.StandardOutput), "maxConcurrentPerKey"));
        Assert.Equal(1, unbounded.ExitCode);

        // Its process's heartbeat stopped long before the later run started: it died then.
        await database.ExecuteAsync("INSERT INTO workers (worker_id, pid, started_at, last_seen) VALUES ('gone', 1, 900, 1200)");
        var bounded = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db);

        Assert.Equal(1, Json.Long(Json.Line(bounded.StandardOutput), "maxConcurrentPerKey"));
        Assert.True(bounded.ExitCode == 0, bounded.ToString());
    }
}
