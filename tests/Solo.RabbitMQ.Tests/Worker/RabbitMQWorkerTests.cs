using System.Collections.Concurrent;
using Solo.RabbitMQ.Tests.Support;
using Solo.Tests.Support;

namespace Solo.RabbitMQ.Tests.Worker;

/// <summary>The engine on RabbitMQ: client, worker, retries through the delay queues.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMQWorkerTests(RabbitMqServerFixture server)
{
    [Fact]
    public async Task Worker_TaskFailingOnce_IsRetriedThroughTheDelayQueuesAndEveryTaskRunsToCompletionOnce()
    {
        var queue = $"worker-{Guid.NewGuid():N}";
        var broker = new RabbitMQBroker(server.Options(TimeSpan.FromSeconds(30)), TimeProvider.System);
        var failed = new ConcurrentDictionary<int, bool>();
        var probe = new Probe
        {
            OnRun = (work, _, _) => work.Key == 3 && failed.TryAdd(work.Key, true)
                ? throw new InvalidOperationException("first attempt fails")
                : Task.CompletedTask,
        };
        await using var harness = SoloHarness.Create(
            task: t => t.Retry(3, baseDelay: TimeSpan.FromMilliseconds(300)),
            broker: broker,
            probe: probe,
            solo: s => s.Configure(o => o.DefaultQueue = queue));
        await harness.StartWorkerAsync();

        for (var key = 0; key < 10; key++)
        {
            await harness.Client.EnqueueAsync(new Work(key));
        }

        await SoloHarness.WaitForAsync(() => probe.Completions.Count == 10, "ten completions", TimeSpan.FromSeconds(20));
        await harness.WaitUntilDrainedAsync(TimeSpan.FromSeconds(10), queue);

        Assert.Equal(Enumerable.Range(0, 10), probe.Completions.Select(c => c.Args.Key).Order());
        var retried = Assert.Single(probe.Completions, c => c.Args.Key == 3);
        Assert.Equal(2, retried.Context.Attempt);
        Assert.Equal(11, probe.Starts.Count);
        await harness.StopWorkerAsync();
        await broker.DisposeAsync();
    }
}
