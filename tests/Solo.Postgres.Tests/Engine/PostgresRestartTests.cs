using System.Diagnostics;
using Solo.Brokers;
using Solo.Postgres.Tests.Support;

namespace Solo.Postgres.Tests.Engine;

/// <summary>A server of its own, stopped and started again: failures are fast and named, and nothing needs a restart of the app.</summary>
public sealed class PostgresRestartTests : IDisposable
{
    private readonly PostgresServer _server = PostgresServer.Start();

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task Operations_ServerStopped_FailFastNamingTheServerAndWorkAgainAfterARestart()
    {
        // Trust authentication ignores the password; it is here to show that errors never print it.
        var connectionString = _server.ConnectionString() + ";Password=never-print-me";
        await using var broker = new PostgresBroker(connectionString);
        await using var locks = new PostgresLockStore(connectionString);
        await broker.PublishAsync([new OutgoingMessage("m0", "q", new byte[] { 0 })], default);
        Assert.True((await locks.TryAcquireAsync("k0", "owner", TimeSpan.FromMinutes(1), default)).Acquired);

        _server.Stop();
        var clock = Stopwatch.StartNew();
        var publish = await Assert.ThrowsAsync<BackendUnavailableException>(async () => await broker.PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default));
        var acquire = await Assert.ThrowsAsync<BackendUnavailableException>(async () => await locks.TryAcquireAsync("k1", "owner", TimeSpan.FromMinutes(1), default));
        var receive = await Assert.ThrowsAsync<BackendUnavailableException>(async () => await broker.ReceiveAsync("q", 10, TimeSpan.FromSeconds(1), default));
        var elapsed = clock.Elapsed;

        var expected = $"PostgreSQL 127.0.0.1:{_server.Port}/solo";
        Assert.All([publish, acquire, receive], ex =>
        {
            Assert.Equal(expected, ex.Backend);
            Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("never-print-me", ex.ToString(), StringComparison.Ordinal);
        });
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"three failures took {elapsed}");

        _server.StartAgain();
        await broker.PublishAsync([new OutgoingMessage("m2", "q", new byte[] { 2 })], default);
        Assert.True((await locks.TryAcquireAsync("k2", "owner", TimeSpan.FromMinutes(1), default)).Acquired);
        var received = await broker.ReceiveAsync("q", 10, TimeSpan.FromSeconds(5), default);
        Assert.Equal(["m0", "m2"], received.Select(d => d.MessageId).Order(StringComparer.Ordinal));
        Assert.Equal("owner", (await locks.GetAsync("k0", default))?.Owner);
    }

    [Fact]
    public async Task TryAcquireAsync_AfterServerRestart_FencingTokensKeepGrowing()
    {
        var connectionString = _server.ConnectionString();
        await using var locks = new PostgresLockStore(connectionString);
        var before = await locks.TryAcquireAsync("k", "owner-1", TimeSpan.FromMinutes(1), default);
        Assert.True(await locks.ReleaseAsync("k", "owner-1", before.FencingToken, default));

        _server.Stop();
        _server.StartAgain();
        var sameStore = await locks.TryAcquireAsync("k", "owner-2", TimeSpan.FromMinutes(1), default);
        await using var newStore = new PostgresLockStore(connectionString);
        var otherKey = await newStore.TryAcquireAsync("other", "owner-3", TimeSpan.FromMinutes(1), default);

        Assert.True(sameStore.Acquired);
        Assert.True(sameStore.FencingToken > before.FencingToken, $"{sameStore.FencingToken} after {before.FencingToken}");
        Assert.True(otherKey.FencingToken > sameStore.FencingToken);
    }

    [Fact]
    public async Task ReceiveAsync_WaitingAcrossARestart_IsWokenByANotificationAfterwards()
    {
        var connectionString = _server.ConnectionString();
        await using var receiver = new PostgresBroker(connectionString, new PostgresOptions { PollInterval = TimeSpan.FromMinutes(1) });
        await using var publisher = new PostgresBroker(connectionString);
        Assert.Empty(await receiver.ReceiveAsync("q", 1, TimeSpan.FromMilliseconds(300), default));

        _server.Stop();
        _server.StartAgain();
        // The listening connection died with the server; give it time to come back (it retries within seconds).
        await Task.Delay(TimeSpan.FromSeconds(7));
        Assert.Empty(await receiver.ReceiveAsync("q", 1, TimeSpan.Zero, default));
        var receive = receiver.ReceiveAsync("q", 1, TimeSpan.FromSeconds(30), default).AsTask();
        await Task.Delay(TimeSpan.FromSeconds(6.5));
        var clock = Stopwatch.StartNew();
        await publisher.PublishAsync([new OutgoingMessage("m1", "q", new byte[] { 1 })], default);
        var delivery = Assert.Single(await receive.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("m1", delivery.MessageId);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the receive noticed the publish after {clock.Elapsed}");
    }
}
