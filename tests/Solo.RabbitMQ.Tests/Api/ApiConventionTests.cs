using System.Reflection;

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
        var open = RabbitMQ.GetExportedTypes().Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract).Select(t => t.FullName);

        Assert.Empty(open);
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        var offenders = RabbitMQ.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => !m.IsSpecialName && (typeof(IAsyncResult).IsAssignableFrom(m.ReturnType) || m.ReturnType.Name.StartsWith("ValueTask", StringComparison.Ordinal)))
            .Where(m => m.Name != "DisposeAsync")
            .Where(m => !m.Name.EndsWith("Async", StringComparison.Ordinal) || !m.GetParameters().Any(p => p.ParameterType == typeof(CancellationToken)))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}");

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
