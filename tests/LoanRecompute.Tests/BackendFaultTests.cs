using System.Diagnostics;
using System.Globalization;
using LoanRecompute.Tests.Support;
using Xunit.Abstractions;

namespace LoanRecompute.Tests;

/// <summary>
/// The server backends under real faults: worker processes on RabbitMQ or Redis Streams with locks in Redis,
/// or on PostgreSQL, are killed with SIGKILL mid-task, or the Redis or RabbitMQ server is stopped and started
/// again while producers and workers run. Afterwards verify must find nothing lost or stale, no two runs of a
/// loan at once and no lock left.
/// </summary>
/// <remarks>
/// In the servers' collection, so that its tests run one after another on the servers they share (each test
/// has a Redis database or a PostgreSQL database of its own; the RabbitMQ queue is the same, which is fine
/// because each test ends drained).
/// </remarks>
[Collection(ServerCollection.Name)]
public sealed class BackendFaultTests(BackendServers servers, ITestOutputHelper output)
{
    private const int Kills = 3;

    // Long enough for the clients to notice that the server is gone, short enough to keep the run short.
    private static readonly TimeSpan Outage = TimeSpan.FromMilliseconds(1500);

    [Fact]
    public Task Verify_RabbitMQBrokerRedisLocksWorkersKilledMidTask_NothingLostOrStaleNoOverlapNoLocksLeft() =>
        RabbitMQWithRedisLocks().RunAsync(KillWorkersAsync);

    [Fact]
    public Task Verify_RabbitMQBrokerRedisLocksRedisRestartedDuringRun_NothingLostOrStaleNoOverlapNoLocksLeft() =>
        RabbitMQWithRedisLocks().RunAsync(run => RestartAsync(run, servers.Redis, "redis", expectProducerRetries: true));

    [Fact]
    public Task Verify_RabbitMQBrokerRedisLocksRabbitMQRestartedDuringRun_NothingLostOrStaleNoOverlapNoLocksLeft() =>
        RabbitMQWithRedisLocks().RunAsync(run => RestartAsync(run, servers.RabbitMQ, "rabbitmq", expectProducerRetries: false));

    [Fact]
    public Task Verify_TransactionalProducersRabbitMQRestartedDuringRun_OutboxRelaysRideItOutNothingLostOrStale() =>
        RabbitMQWithRedisLocks(transactional: true).RunAsync(run => RestartAsync(run, servers.RabbitMQ, "rabbitmq", expectProducerRetries: true));

    [Fact]
    public Task Verify_RedisStreamsBrokerRedisLocksWorkersKilledMidTask_NothingLostOrStaleNoOverlapNoLocksLeft()
    {
        var redis = servers.NewRedisConfiguration();
        return new FaultScenario(output, ["--broker", "redis", "--locks", "redis", "--redis", redis]) { DescribeBackend = () => servers.DescribeRedisKeys(redis) }
            .RunAsync(KillWorkersAsync);
    }

    [Fact]
    public async Task Verify_PostgresBrokerPostgresLocksWorkersKilledMidTask_NothingLostOrStaleNoOverlapNoLocksLeft()
    {
        var postgres = await servers.NewPostgresDatabaseAsync();
        await new FaultScenario(output, ["--broker", "postgres", "--locks", "postgres", "--postgres", postgres]).RunAsync(KillWorkersAsync);
    }

    private FaultScenario RabbitMQWithRedisLocks(bool transactional = false)
    {
        var redis = servers.NewRedisConfiguration();
        return new FaultScenario(output, ["--broker", "rabbitmq", "--rabbitmq", servers.RabbitMQUri, "--locks", "redis", "--redis", redis])
        {
            Transactional = transactional,
            DescribeBackend = () => servers.DescribeRedisKeys(redis),
        };
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
            var busy = await Runs.WaitForAnyOpenAsync(run.Database, run.Workers, random, TimeSpan.FromSeconds(20));
            Assert.True(busy is not null, $"no worker ran a task for 20 s while producers ran\n{string.Join("\n", run.Workers.Select(w => $"worker {w.Pid}:\n{w.StandardError}"))}");
            var index = busy.Value;
            var victim = run.Workers[index];

            var cut = await run.KillAndRestartAsync(index, 10 + attempt);
            if (cut.Count > 0)
            {
                kills++;
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
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: stopped with {open} run(s) open in {stopped.TotalSeconds:0.0} s, down {Outage.TotalSeconds:0.0} s more, started again {clock.Elapsed.TotalSeconds:0.0} s after the stop began"));

        if (expectProducerRetries)
        {
            // Proof that the outage met the enqueues: they failed and were tried again. A transactional enqueue is
            // published by whichever outbox relay claims it first, the producer's or a worker's (they share the
            // loans file), so the relays of the workers count too.
            run.AfterProduce.Add(() =>
            {
                var relayRetries = run.Workers.Sum(w => FaultScenario.RetriedEnqueues(w.StandardError));
                Assert.True(run.ProducerRetries + relayRetries > 0, $"no enqueue failed while {name} was down: the restart missed the producers and the outbox relays");
            });
        }
    }
}
