using System.Reflection;

namespace Solo.Sqlite.Tests.Api;

/// <summary>Keeps the public surface of Solo.Sqlite small and conventional.</summary>
public sealed class ApiConventionTests
{
    private static readonly Assembly Sqlite = typeof(SqliteBroker).Assembly;

    [Fact]
    public void PublicTypes_AreExactlyWhatUsersNeed()
    {
        var names = Sqlite.GetExportedTypes().Select(t => t.FullName).Order(StringComparer.Ordinal);

        Assert.Equal(
            ["Solo.Sqlite.SqliteBroker", "Solo.Sqlite.SqliteLockStore", "Solo.Sqlite.SqliteOptions", "Solo.Sqlite.SqliteSoloBuilderExtensions"],
            names);
    }

    [Fact]
    public void PublicClasses_AreSealedOrStatic()
    {
        var open = Sqlite.GetExportedTypes().Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract).Select(t => t.FullName);

        Assert.Empty(open);
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        var offenders = Sqlite.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => !m.IsSpecialName && (typeof(IAsyncResult).IsAssignableFrom(m.ReturnType) || m.ReturnType.Name.StartsWith("ValueTask", StringComparison.Ordinal) || m.ReturnType.Name.StartsWith("IAsyncEnumerable", StringComparison.Ordinal)))
            .Where(m => m.Name != "DisposeAsync")
            .Where(m => !m.Name.EndsWith("Async", StringComparison.Ordinal) || !m.GetParameters().Any(p => p.ParameterType == typeof(CancellationToken)))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}");

        Assert.Empty(offenders);
    }

    [Fact]
    public void Assembly_IsMarkedAsTheDefaultBackendWithARegisterMethod()
    {
        var attribute = Sqlite.GetCustomAttribute<SoloDefaultBackendAttribute>();

        Assert.NotNull(attribute);
        var register = attribute.RegistrarType.GetMethod("Register", BindingFlags.Public | BindingFlags.Static, [typeof(SoloBuilder)]);
        Assert.NotNull(register);
    }
}
