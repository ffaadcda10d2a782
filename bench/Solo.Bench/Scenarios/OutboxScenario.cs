using System.Data.Common;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Solo.Bench.Backends;
using Solo.Bench.Hosting;
using Solo.Bench.Measurement;
using Solo.Bench.Scenarios.Outbox;
using Solo.Outbox;

namespace Solo.Bench.Scenarios;

/// <summary>
/// The transactional outbox on the app's database. Throughput: transactions that record an event and enqueue
/// a unique task through the outbox, against the baseline of the same transaction with a plain insert of a
/// row of the same shape instead, at 1 and 4 callers (the relay publishing meanwhile, as in an app).
/// Latency: commit-to-start of tasks enqueued in transactions at a steady 200 per second with a worker
/// running, against the baseline of enqueueing right after the commit (the on-commit recipe, which is fast
/// but loses the task if the process dies between the two).
/// </summary>
internal sealed class OutboxScenario(Func<BackendInstance, IAppDatabase> appDatabase) : IScenario
{
    private const int Rate = 200;

    public string Name => "outbox";

    public async Task RunAsync(ScenarioContext context, JsonObject report, CancellationToken cancellationToken)
    {
        var transactions = context.Scale(5_000);
        var throughput = new JsonArray();
        foreach (var callers in new[] { 1, 4 })
        {
            var plain = await MeasureThroughputAsync(context, outbox: false, callers, transactions, cancellationToken);
            var outbox = await MeasureThroughputAsync(context, outbox: true, callers, transactions, cancellationToken);
            ScenarioContext.Note($"outbox: {callers} caller(s): {outbox["opsPerSec"]} tx/s with the outbox, {plain["opsPerSec"]} tx/s with a plain insert");
            throughput.Add(new JsonObject
            {
                ["callers"] = callers,
                ["outbox"] = outbox,
                ["baseline"] = plain,
                ["ratio"] = Report.Ratio((double)outbox["opsPerSec"]!, (double)plain["opsPerSec"]!),
            });
        }

        var tasks = context.Scale(2_000);
        var outboxLatency = await MeasureLatencyAsync(context, outbox: true, tasks, cancellationToken);
        var afterCommit = await MeasureLatencyAsync(context, outbox: false, tasks, cancellationToken);
        ScenarioContext.Note($"outbox: commit-to-start p50 {outboxLatency["p50Ms"]} ms / p99 {outboxLatency["p99Ms"]} ms; enqueue after commit p50 {afterCommit["p50Ms"]} ms / p99 {afterCommit["p99Ms"]} ms");

        report["transactions"] = transactions;
        report["throughput"] = throughput;
        report["commitToStart"] = new JsonObject
        {
            ["ratePerSec"] = Rate,
            ["outbox"] = outboxLatency,
            ["baseline"] = afterCommit,
            ["baselineKind"] = "enqueue right after the commit, outside the transaction",
        };
    }

    private async Task<JsonObject> MeasureThroughputAsync(ScenarioContext context, bool outbox, int callers, int transactions, CancellationToken cancellationToken)
    {
        await using var backend = await context.Backend.CreateAsync(cancellationToken);
        await using var app = appDatabase(backend);
        await app.PrepareAsync(cancellationToken);
        await using var host = CreateHost(context, backend, app, worker: false);
        await host.StartAsync(cancellationToken);

        var next = 0;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(
            async () =>
            {
                await using var connection = await app.OpenAsync(cancellationToken);
                int i;
                while ((i = Interlocked.Increment(ref next)) <= transactions)
                {
                    await RecordAsync(host.Client, connection, outbox ? Way.Outbox : Way.PlainInsert, i, cancellationToken);
                }
            },
            cancellationToken)));
        var elapsed = Stopwatch.GetElapsedTime(started);

        var result = Report.Throughput(transactions, elapsed);
        result["kind"] = outbox ? "event insert + EnqueueAsync(args, transaction:)" : "event insert + plain insert of a row of the same shape";
        if (outbox)
        {
            // What the relay had left to publish when the last transaction committed, and how long it took.
            var store = host.Services.GetRequiredService<IOutboxStore>();
            result["outboxLeftAtEnd"] = await store.CountAsync(cancellationToken);
            var relayed = await Poll.UntilAsync(async () => await store.CountAsync(cancellationToken) == 0, TimeSpan.FromSeconds(120), cancellationToken);
            result["allPublishedMs"] = relayed ? Report.Ms(Stopwatch.GetElapsedTime(started)) : null;
        }

        return result;
    }

    private async Task<JsonObject> MeasureLatencyAsync(ScenarioContext context, bool outbox, int tasks, CancellationToken cancellationToken)
    {
        await using var backend = await context.Backend.CreateAsync(cancellationToken);
        await using var app = appDatabase(backend);
        await app.PrepareAsync(cancellationToken);
        var probe = new OutboxProbe();
        await using var host = CreateHost(context, backend, app, worker: true, probe);
        await host.StartAsync(cancellationToken);

        await using var connection = await app.OpenAsync(cancellationToken);
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / Rate));
        for (var i = 1; i <= tasks; i++)
        {
            await pace.WaitForNextTickAsync(cancellationToken);
            var (taskId, committedAt) = await RecordAsync(host.Client, connection, outbox ? Way.Outbox : Way.AfterCommit, i, cancellationToken);
            probe.Committed[taskId!] = committedAt;
        }

        await Poll.UntilAsync(() => ValueTask.FromResult(probe.Started.Count >= tasks), TimeSpan.FromSeconds(60), cancellationToken);
        var result = LatencyStats.FromTicks(probe.Latencies()).ToJson();
        result["kind"] = outbox ? "EnqueueAsync(args, transaction:), relay woken on commit" : "EnqueueAsync(args) right after the commit";
        return result;
    }

    /// <summary>
    /// One app transaction; returns the task id (none for a plain insert) and the moment the commit returned,
    /// which for an enqueue after the commit is before the enqueue.
    /// </summary>
    private static async Task<(string? TaskId, long CommittedAt)> RecordAsync(ISoloClient client, DbConnection connection, Way way, int loan, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = AppSchema.InsertEvent;
        AddParameter(insert, "@loan", loan);
        AddParameter(insert, "@amount", 100);
        await insert.ExecuteNonQueryAsync(cancellationToken);

        string? taskId = null;
        if (way == Way.Outbox)
        {
            taskId = (await client.EnqueueAsync(new OutboxArgs(loan), transaction: transaction, cancellationToken: cancellationToken)).TaskId;
        }
        else if (way == Way.PlainInsert)
        {
            await using var plain = connection.CreateCommand();
            plain.Transaction = transaction;
            plain.CommandText = AppSchema.InsertPlain;
            AddParameter(plain, "@id", Guid.CreateVersion7().ToString("N"));
            AddParameter(plain, "@args", $$"""{"loanId":{{loan}}}""");
            AddParameter(plain, "@key", $"bench.outbox:{loan}");
            AddParameter(plain, "@at", DateTimeOffset.UtcNow.UtcTicks);
            await plain.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        var committedAt = Stopwatch.GetTimestamp();
        if (way == Way.AfterCommit)
        {
            taskId = (await client.EnqueueAsync(new OutboxArgs(loan), cancellationToken)).TaskId;
        }

        return (taskId, committedAt);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static BenchHost CreateHost(ScenarioContext context, BackendInstance backend, IAppDatabase app, bool worker, OutboxProbe? probe = null) =>
        BenchHost.Create(
            backend,
            context.Log,
            solo =>
            {
                solo.AddTask<OutboxTask, OutboxArgs>("bench.outbox", t => t.Unique(u => u.Coalesce().Key(a => a.LoanId)));
                app.UseOutbox(solo, _ => { });
            },
            worker: worker ? w => w.Concurrency = 8 : null,
            services: s => s.AddSingleton(probe ?? new OutboxProbe()));

    private enum Way
    {
        Outbox,
        PlainInsert,
        AfterCommit,
    }
}
