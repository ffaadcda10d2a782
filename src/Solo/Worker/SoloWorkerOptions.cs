namespace Solo;

/// <summary>Options of the worker host added by <c>AddSoloWorker</c>.</summary>
public sealed class SoloWorkerOptions
{
    /// <summary>Tasks run at once by this process. Default: the processor count.</summary>
    public int Concurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>Messages received ahead of free slots, so a slot that frees finds work at once. Default: equal to <see cref="Concurrency"/>; 0 turns prefetch off.</summary>
    public int Prefetch { get; set; } = -1;

    /// <summary>The queues to consume. Default: the default queue and every queue a registered task names.</summary>
    public IList<string> Queues { get; } = new List<string>();

    /// <summary>
    /// How long shutdown waits for running tasks before cancelling them and returning them to the queue.
    /// Default 25 s, inside the host's own default shutdown timeout of 30 s; raise
    /// <c>HostOptions.ShutdownTimeout</c> above this when you raise it.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>How long one receive call waits for a message. Default 1 s.</summary>
    public TimeSpan ReceiveWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a running task's broker lease is renewed. Default 10 s.</summary>
    public TimeSpan DeliveryRenewInterval { get; set; } = TimeSpan.FromSeconds(10);

    internal int EffectivePrefetch => Prefetch >= 0 ? Prefetch : Concurrency;

    internal void Validate()
    {
        if (Concurrency < 1)
        {
            throw new InvalidOperationException($"SoloWorkerOptions.Concurrency must be at least 1 (was {Concurrency}).");
        }

        if (ShutdownTimeout < TimeSpan.Zero || ReceiveWait <= TimeSpan.Zero || DeliveryRenewInterval <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("SoloWorkerOptions: ShutdownTimeout must not be negative; ReceiveWait and DeliveryRenewInterval must be positive.");
        }
    }
}
