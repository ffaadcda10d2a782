namespace Solo.RabbitMQ.Tests.Topology;

public sealed class QueueNamesTests
{
    [Theory]
    [InlineData(1, 1, "1")]
    [InlineData(5, 3, "1.0.1")]
    [InlineData(2, 3, "0.1.0")]
    [InlineData(7, 3, "1.1.1")]
    [InlineData(1, 4, "0.0.0.1")]
    public void RoutingKey_Units_SpellsTheirBitsHighestLevelFirst(long units, int levels, string expected)
    {
        Assert.Equal(expected, QueueNames.RoutingKey(units, levels));
    }

    [Fact]
    public void Names_ThreeLevels_NameEachLevelByItsTtlAndBindOnItsOwnBit()
    {
        var names = new QueueNames("orders", TimeSpan.FromMilliseconds(100), 3);

        Assert.Equal("orders", names.Queue);
        Assert.Equal("orders.dead", names.DeadLetters);
        Assert.Equal(["orders.delay.100ms", "orders.delay.200ms", "orders.delay.400ms"], Enumerable.Range(0, 3).Select(names.Delay));
        Assert.Equal([100, 200, 400], Enumerable.Range(0, 3).Select(names.DelayTtl));
        Assert.Equal("orders.delay.400ms", names.DelayEntry);
        Assert.Equal("1.*.*", names.OneBinding(2));
        Assert.Equal("*.0.*", names.ZeroBinding(1));
        Assert.Equal("*.*.1", names.OneBinding(0));
    }

    [Theory]
    [InlineData("")]
    [InlineData("amq.tasks")]
    public void Validate_ReservedOrEmptyName_Throws(string queue)
    {
        Assert.Throws<ArgumentException>(() => QueueNames.Validate(queue, "queue"));
    }

    [Fact]
    public void Validate_NameLongerThanTheLimit_Throws()
    {
        QueueNames.Validate(new string('q', QueueNames.MaxQueueNameBytes), "queue");

        Assert.Throws<ArgumentException>(() => QueueNames.Validate(new string('q', QueueNames.MaxQueueNameBytes + 1), "queue"));
    }
}
