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
    [InlineData("option --postgres needs --broker postgres or --locks postgres", "verify", "--db", "x.db", "--postgres", "Host=127.0.0.1")]
    [InlineData("invalid value for --postgres: expected an Npgsql connection string", "worker", "--db", "x.db", "--broker", "postgres", "--postgres", "Bogus=1")]
    [InlineData("invalid value 'mysql' for --locks", "produce", "--db", "x.db", "--events", "1", "--loans", "1", "--locks", "mysql")]
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
        var (db, database) = await SimulatedAsync(directory);
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
        var (db, database) = await SimulatedAsync(directory);

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

    [Fact]
    public async Task Verify_OverlapWithARunThatLostItsLease_LeavesItOutOfMaxConcurrentPerKey()
    {
        using var directory = new TempDirectory();
        var (db, database) = await SimulatedAsync(directory);

        // Loan 300: 'a' (token 7) stalled past its lease; 'b' (token 8) took the slot, ran and wrote; 'a' woke
        // up and its write was refused. Loan 301: 'c' was cancelled for its lost lease beside 'd'.
        await database.ExecuteAsync("""
            INSERT INTO loans (loan_id, version) VALUES (300, 2), (301, 1);
            INSERT INTO results (loan_id, version, computed_at, fencing_token) VALUES (300, 2, 2200, 8), (301, 1, 2200, 10);
            INSERT INTO runs (task_id, loan_id, version_read, fencing_token, attempt, started_at, ended_at, outcome, worker_id, pid)
            VALUES ('a', 300, 1, 7, 1, 1000, 5000, 'stale-write-refused', 'w', 1), ('b', 300, 2, 8, 1, 2000, 2200, 'ok', 'w', 2),
                   ('c', 301, 1, 9, 1, 1000, 5000, 'lease-lost', 'w', 1), ('d', 301, 1, 10, 1, 2000, 2200, 'ok', 'w', 2);
            """);
        var verify = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db);

        var report = Json.Line(verify.StandardOutput);
        Assert.Equal(Json.VerifyFields, Json.Names(report));
        Assert.Equal(1, Json.Long(report, "maxConcurrentPerKey"));
        Assert.Equal(2, Json.Long(report, "maxConcurrentPerKeyAllRuns"));
        Assert.Equal(1, Json.Long(report, "staleWritesRefused"));
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    [Fact]
    public async Task Worker_NewerRunWroteFirst_OlderTokenIsRefusedAndCountedWithoutRetry()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);

        // A result already written by a run whose token no acquisition of this file will reach.
        var produce = await SampleProcess.RunAsync(CommandTimeout, "produce", "--db", db, "--events", "1", "--loans", "1");
        Assert.True(produce.ExitCode == 0, produce.ToString());
        await database.ExecuteAsync($"INSERT INTO results (loan_id, version, computed_at, fencing_token) VALUES (0, 1, 1000, {long.MaxValue})");
        await using var processes = new ProcessGroup();
        var worker = processes.Start("worker", "--db", db, "--concurrency", "1", "--task-ms", "1");
        var verify = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db);

        var report = Json.Line(verify.StandardOutput);
        Assert.Equal(1, Json.Long(report, "staleWritesRefused"));
        Assert.Equal(1, Json.Long(report, "executions"));
        Assert.Equal(0, Json.Long(report, "deadLettered"));
        var run = Assert.Single(await database.RunsAsync());
        Assert.Equal("stale-write-refused", run.Outcome);

        // The fence did its job: the run that was refused is the only one, so nothing read version 1 and succeeded.
        Assert.Equal(1, Json.Long(report, "lost"));
        Assert.Equal(1, verify.ExitCode);
        await worker.TerminateAsync();
        Assert.Equal(0, (await worker.WaitAsync(TimeSpan.FromSeconds(30))).ExitCode);
    }

    [Fact]
    public async Task Simulate_FileFromBeforeFencedResults_AddsTheTokenColumnAndVerifiesClean()
    {
        using var directory = new TempDirectory();
        var db = directory.File("loans.db");
        var database = new SampleDatabase(db);

        // The results table as files written before fencing have it: no fencing_token column, one old result.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE results (loan_id INTEGER PRIMARY KEY, version INTEGER NOT NULL, computed_at INTEGER NOT NULL);
                CREATE TABLE loans (loan_id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
                INSERT INTO loans VALUES (1, 0);
                INSERT INTO results VALUES (1, 0, 1000);
                """;
            await command.ExecuteNonQueryAsync();
        }

        var simulate = await SampleProcess.RunAsync(CommandTimeout, "simulate", "--db", db, "--events", "100", "--loans", "5");
        Assert.True(simulate.ExitCode == 0, simulate.ToString());
        var verify = await SampleProcess.RunAsync(CommandTimeout, "verify", "--db", db);

        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Equal(0, Json.Long(Json.Line(verify.StandardOutput), "staleWritesRefused"));
        Assert.DoesNotContain(await database.RunsAsync(), r => r.Outcome != "ok");
    }

    /// <summary>A loans file that a small clean simulation filled, for verify tests to write their own runs into.</summary>
    private static async Task<(string Db, SampleDatabase Database)> SimulatedAsync(TempDirectory directory)
    {
        var db = directory.File("loans.db");
        var simulate = await SampleProcess.RunAsync(CommandTimeout, "simulate", "--db", db, "--events", "50", "--loans", "5");
        Assert.True(simulate.ExitCode == 0, simulate.ToString());
        return (db, new SampleDatabase(db));
    }
}
