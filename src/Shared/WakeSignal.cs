namespace Solo.Shared;

/// <summary>
/// A wake-up that is remembered until it is waited for: <see cref="Set"/> ends the current wait, or the next
/// one if nobody waits. Shared as source by the outbox relay's in-process wake and PostgreSQL's NOTIFY wake.
/// </summary>
internal sealed class WakeSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending;

    public void Set()
    {
        Volatile.Write(ref _pending, 1);
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Returns when set since the last wait, or after <paramref name="timeout"/> on <paramref name="time"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        // The signal is read before the flag, so a set between the two still ends this wait.
        var next = Volatile.Read(ref _next).Task;
        if (Interlocked.Exchange(ref _pending, 0) == 1)
        {
            return;
        }

        try
        {
            await next.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _pending, 0);
        }
        catch (TimeoutException)
        {
        }
    }
}
