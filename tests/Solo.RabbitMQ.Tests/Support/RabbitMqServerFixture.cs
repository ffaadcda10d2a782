using System.Diagnostics;
using Solo.Tests.Support;

namespace Solo.RabbitMQ.Tests.Support;

/// <summary>
/// One private RabbitMQ node for the whole test run, started with <c>scripts/servers/rabbitmq.sh</c> on
/// 127.0.0.1 and free ports, its state in a temporary folder. Every RabbitMQ test class shares it through
/// <see cref="RabbitMqCollection"/>, which also runs them one after another, since one test restarts it.
/// </summary>
public sealed class RabbitMqServerFixture : IAsyncLifetime
{
    private readonly string _script;
    private readonly string _directory;
    private readonly int _distributionPort;
    private int _running;

    public RabbitMqServerFixture()
    {
        _script = Path.Combine(TestServers.RepositoryRoot(), "scripts", "servers", "rabbitmq.sh");
        _directory = Path.Combine(Path.GetTempPath(), $"solo-rabbitmq-{Guid.NewGuid():N}");
        Port = TestServers.FreePort();
        _distributionPort = TestServers.FreePort();
        // A test host that dies without disposing its fixtures must not leave the node behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAtExit();
    }

    public int Port { get; }

    /// <summary>The AMQP URI of the node, guest/guest (accepted from loopback).</summary>
    public Uri Uri => new($"amqp://guest:guest@127.0.0.1:{Port}/");

    public async Task InitializeAsync()
    {
        await RunScriptAsync("start");
        Interlocked.Exchange(ref _running, 1);
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A crash dump still being written; the temp folder is cleaned up by the OS eventually.
        }
    }

    /// <summary>Stops the node; its durable queues and persistent messages stay on disk.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _running, 0) == 1)
        {
            await RunScriptAsync("stop");
        }
    }

    /// <summary>Starts the node again after <see cref="StopAsync"/>, on the same port and data.</summary>
    public async Task StartAsync()
    {
        if (Interlocked.Exchange(ref _running, 1) == 0)
        {
            await RunScriptAsync("start");
        }
    }

    public RabbitMQBrokerOptions Options(TimeSpan? deliveryLease = null) => new()
    {
        Uri = Uri,
        DeliveryLease = deliveryLease ?? TimeSpan.FromSeconds(30),
        RecoveryInterval = TimeSpan.FromMilliseconds(500),
    };

    private void StopAtExit()
    {
        if (Interlocked.Exchange(ref _running, 0) == 1)
        {
            using var process = Process.Start(StartInfo("stop"));
            process?.WaitForExit(30_000);
        }
    }

    private ProcessStartInfo StartInfo(string command)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { _script, command, _directory, Port.ToString(System.Globalization.CultureInfo.InvariantCulture), _distributionPort.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private async Task RunScriptAsync(string command)
    {
        using var process = Process.Start(StartInfo(command)) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmq.sh {command} failed ({process.ExitCode}): {await stdout} {await stderr}");
        }
    }
}
