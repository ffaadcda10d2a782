using System.Diagnostics;
using System.Text.Json.Nodes;
using Solo.Bench.Measurement;

namespace Solo.Bench.Scenarios.Drain;

/// <summary>The outcome of one drain.</summary>
/// <param name="Feed">What the feeder enqueued.</param>
/// <param name="Executed">Task runs.</param>
/// <param name="FeedStart">Stopwatch timestamp of the first enqueue call.</param>
/// <param name="FirstStart">Stopwatch timestamp of the first run's start.</param>
/// <param name="LastEnd">Stopwatch timestamp of the last run's end.</param>
/// <param name="Latency">Enqueue-to-start latency.</param>
/// <param name="StartRefusals">Run slots refused at start (each a reschedule).</param>
/// <param name="State">What the run left in the backend.</param>
/// <param name="TimedOut">The runs did not catch up with the accepted enqueues in time.</param>
/// <param name="Resources">CPU, allocation and collections from the first enqueue to the last end.</param>
internal sealed record DrainRun(FeedResult Feed, int Executed, long FeedStart, long FirstStart, long LastEnd, LatencyStats Latency, long StartRefusals, BackendState State, bool TimedOut, ResourceUsage Resources)
{
    /// <summary>From the first start to the last end: how fast workers get through a backlog.</summary>
    public TimeSpan Running => Stopwatch.GetElapsedTime(FirstStart, LastEnd);

    /// <summary>From the first enqueue to the last end: the whole job, feeding included.</summary>
    public TimeSpan Total => Stopwatch.GetElapsedTime(FeedStart, LastEnd);

    public double ExecutionsPerSec => Report.Rate(Executed, Running);

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["enqueueCalls"] = Feed.Calls,
            ["enqueued"] = Feed.Enqueued,
            ["duplicates"] = Feed.Duplicates,
            ["executed"] = Executed,
            ["runningMs"] = Report.Ms(Running),
            ["executionsPerSec"] = ExecutionsPerSec,
            ["totalMs"] = Report.Ms(Total),
            ["totalPerSec"] = Report.Rate(Executed, Total),
            ["enqueueToStart"] = Latency.ToJson(),
            ["startRefusals"] = StartRefusals,
        };
        State.AddTo(json);
        json["timedOut"] = TimedOut;
        Report.Merge(json, Resources.ToJson(Executed));

        return json;
    }
}
