using System.Reflection;
using Solo.Tests.Support;

namespace Solo.RabbitMQ.Tests.Api;

/// <summary>Keeps the public surface of Solo.RabbitMQ small and conventional.</summary>
public sealed class ApiConventionTests
{
    private static readonly Assembly RabbitMQ = typeof(RabbitMQBroker).Assembly;

    [Fact]
    public void PublicTypes_AreExactlyWhatUsersNeed()
    {
        var names = RabbitMQ.GetExportedTypes().Select(t => t.FullName).Order(StringComparer.Ordinal);

        Assert.Equal(["Solo.RabbitMQ.RabbitMQBroker", "Solo.RabbitMQ.RabbitMQBrokerOptions", "Solo.RabbitMQ.RabbitMQSoloBuilderExtensions"], names);
    }

    [Fact]
    public void PublicClasses_AreSealedOrStatic()
    {
        var open = ApiConventions.OpenPublicClasses(RabbitMQ);

        Assert.Empty(open);
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        var offenders = ApiConventions.AsyncMethodsBreakingConvention(RabbitMQ);

        Assert.Empty(offenders);
    }

    [Fact]
    public void InternalTypes_AreSealedOrStatic()
    {
        var open = RabbitMQ.GetTypes()
            .Where(t => t.IsClass && !t.IsPublic && !t.IsNested && !t.IsSealed && !t.IsAbstract && t.Namespace == "Solo.RabbitMQ")
            .Select(t => t.FullName);

        Assert.Empty(open);
    }
}
