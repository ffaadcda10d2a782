namespace Solo.Sqlite.Tests.Support;

/// <summary>
/// Tests that play several processes on one file. Where they contend for the file's lock, SQLite's busy
/// handler blocks a thread per connection; run beside the real-time suites on a small machine, that would
/// starve the thread pool and stretch those suites' timing. So they run alone, after the others.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContentionCollection
{
    public const string Name = "Several connections contending for one file";
}
