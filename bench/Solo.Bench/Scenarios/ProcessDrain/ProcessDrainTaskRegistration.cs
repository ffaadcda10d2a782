namespace Solo.Bench.Scenarios.ProcessDrain;

/// <summary>The task as both the parent (enqueuing) and the worker processes (running) register it; they must agree.</summary>
internal static class ProcessDrainTaskRegistration
{
    public const string Name = "bench.drain-processes";

    public static SoloBuilder Add(SoloBuilder solo) =>
        solo.AddTask<ProcessDrainTask, ProcessDrainArgs>(Name, task => task.Unique(u => u.Coalesce().Key(a => a.Id)));
}
