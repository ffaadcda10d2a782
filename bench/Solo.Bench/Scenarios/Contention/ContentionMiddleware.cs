namespace Solo.Bench.Scenarios.Contention;

/// <summary>Tells the probe about each publish, the moment at which a task of a key is accepted.</summary>
internal sealed class ContentionMiddleware(ContentionProbe probe) : ISoloMiddleware
{
    public ValueTask OnPublishingAsync(PublishContext context, CancellationToken cancellationToken)
    {
        probe.OnPublishing(((ContentionArgs)context.Args).Key);
        return ValueTask.CompletedTask;
    }
}
