using System.Reflection;
using Solo.Tests.Support;

namespace Solo.EntityFrameworkCore.Tests.Api;

/// <summary>Keeps the public surface of Solo.EntityFrameworkCore to its one extension class.</summary>
public sealed class ApiConventionTests
{
    private static readonly Assembly EntityFrameworkCore = typeof(SoloDbContextExtensions).Assembly;

    [Fact]
    public void PublicTypes_AreExactlyWhatUsersNeed()
    {
        Assert.Equal(["Solo.EntityFrameworkCore.SoloDbContextExtensions"], EntityFrameworkCore.GetExportedTypes().Select(t => t.FullName));
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        Assert.Empty(ApiConventions.AsyncMethodsBreakingConvention(EntityFrameworkCore));
    }
}
