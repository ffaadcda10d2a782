namespace LoanRecompute.Tests.Support;

/// <summary>What a fault of <c>BackendFaultTests</c> works on and leaves behind for the checks after the run.</summary>
internal sealed class FaultRun(SampleDatabase database, SampleProcess[] workers, Func<int, SampleProcess> startWorker)
{
    public SampleDatabase Database { get; } = database;

    /// <summary>The workers now running; a fault that kills one puts its replacement in its place.</summary>
    public SampleProcess[] Workers { get; } = workers;

    /// <summary>Starts a worker with the given seed, in the test's process group.</summary>
    public Func<int, SampleProcess> StartWorker { get; } = startWorker;

    /// <summary>Runs cut off by a kill.</summary>
    public List<RecordedRun> Killed { get; } = [];

    /// <summary>When each killed worker was seen dead (Unix ms), by pid.</summary>
    public Dictionary<int, long> KilledAt { get; } = [];

    /// <summary>Enqueues the producers retried, known once they are done.</summary>
    public int ProducerRetries { get; set; }

    /// <summary>Checks that need the producers' outcome.</summary>
    public List<Action> AfterProduce { get; } = [];
}
