namespace LoanRecompute.Tests.Support;

/// <summary>
/// One private Redis and one private RabbitMQ node for the fault tests, started once for their collection and
/// stopped after it; tests restart them (stop, wait, start) on the same port and data. PostgreSQL is the test
/// run's shared cluster (<see cref="Solo.Postgres.Tests.Support.PostgresServer.Shared"/>), started on first use.
/// </summary>
public sealed class BackendServers : IAsyncLifetime
{
    private readonly int _redisPort = ServerScript.FreePort();
    private readonly int _rabbitPort = ServerScript.FreePort();
    private int _nextDatabase;

    public BackendServers()
    {
        var root = Path.Combine(Path.GetTempPath(), $"loanrecompute-servers-{Guid.NewGuid():N}");

        // Redis keeps the locks (and, for the Streams broker, the queue). With the append-only file fsynced on
        // every write, a write Redis acknowledged survives its restart, as a production setup that relies
        // on Redis for locks must configure it; the default (no persistence) would forget every lock and
        // message on restart, which is not the fault under test.
        Redis = new ServerScript("redis.sh", Path.Combine(root, "redis"), _redisPort, "--appendonly", "yes", "--appendfsync", "always");
        RabbitMQ = new ServerScript("rabbitmq.sh", Path.Combine(root, "rabbitmq"), _rabbitPort, ServerScript.Text(ServerScript.FreePort()));
    }

    internal ServerScript Redis { get; }

    internal ServerScript RabbitMQ { get; }

    /// <summary>The node's AMQP URI, guest/guest (accepted from loopback).</summary>
    public string RabbitMQUri => $"amqp://guest:guest@127.0.0.1:{_rabbitPort}/";

    /// <summary>A configuration string on a Redis database of its own (0-15), so that tests never see each other's keys.</summary>
    public string NewRedisConfiguration()
    {
        var database = Interlocked.Increment(ref _nextDatabase);
        return $"127.0.0.1:{_redisPort},defaultDatabase={ServerScript.Text(database % 16)}";
    }

    /// <summary>A new, empty database on the shared PostgreSQL cluster, so that tests never see each other's tables.</summary>
    public Task<string> NewPostgresDatabaseAsync() => Solo.Postgres.Tests.Support.PostgresServer.Shared.CreateDatabaseAsync();

    /// <summary>Every key in the database of <paramref name="configuration"/> with its type and TTL, via redis-cli.</summary>
    public string DescribeRedisKeys(string configuration)
    {
        var database = configuration[(configuration.LastIndexOf('=') + 1)..];
        var start = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"for k in $(redis-cli -p {_redisPort} -n {database} --scan); do echo \"$k $(redis-cli -p {_redisPort} -n {database} type $k) pttl=$(redis-cli -p {_redisPort} -n {database} pttl $k) $(redis-cli -p {_redisPort} -n {database} get $k 2>/dev/null | tr '\\n' ' ')\"; done | grep -v ':s \\|:z \\|:d ' | head -20");
        using var process = System.Diagnostics.Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return "redis keys (streams left out):\n" + text;
    }

    public async Task InitializeAsync() => await Task.WhenAll(Redis.StartAsync(), RabbitMQ.StartAsync());

    public async Task DisposeAsync() => await Task.WhenAll(Redis.DisposeAsync(), RabbitMQ.DisposeAsync());
}
