namespace Solo.Bench.Backends;

/// <summary>A broker and lock store pair that every scenario can run against.</summary>
internal interface IBenchBackend
{
    /// <summary>The name given to <c>--backend</c>, echoed in every JSON line.</summary>
    string Name { get; }

    /// <summary>
    /// An empty broker and lock store for one measured run. Runs never share state, so a later run is
    /// not slowed down by what an earlier one left behind; server backends give each run its own queue
    /// and key prefix and remove them when the instance is disposed.
    /// </summary>
    ValueTask<BackendInstance> CreateAsync(CancellationToken cancellationToken);
}
