using System.Reflection;
using Solo.Tests.Support;

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
        var open = ApiConventions.OpenPublicClasses(Sqlite);

        Assert.Empty(open);
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        var offenders = ApiConventions.AsyncMethodsBreakingConvention(Sqlite);

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
