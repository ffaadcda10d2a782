namespace Solo.Bench.Measurement;

/// <summary>
/// Waits for a condition by polling. Only used to learn that a run is over: the figures come from
/// timestamps taken inside the tasks, so the polling interval does not blur them.
/// </summary>
internal static class Poll
{
    /// <returns>False when <paramref name="timeout"/> passed first.</returns>
    public static async Task<bool> UntilAsync(Func<ValueTask<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken, int quietPolls = 1)
    {
        var deadline = DateTime.UtcNow + timeout;
        var quiet = 0;
        while (true)
        {
            quiet = await condition() ? quiet + 1 : 0;
            if (quiet >= quietPolls)
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(5, cancellationToken);
        }
    }
}
