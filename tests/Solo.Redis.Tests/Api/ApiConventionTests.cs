using System.Reflection;
using Solo.Tests.Support;

namespace Solo.Redis.Tests.Api;

/// <summary>Keeps the public surface of Solo.Redis small and conventional.</summary>
public sealed class ApiConventionTests
{
    private static readonly Assembly Redis = typeof(RedisLockStore).Assembly;

    [Fact]
    public void PublicTypes_AreExactlyWhatUsersNeed()
    {
        var names = Redis.GetExportedTypes().Select(t => t.FullName).Order(StringComparer.Ordinal);

        Assert.Equal(
            ["Solo.Redis.RedisLockStore", "Solo.Redis.RedisLockStoreOptions", "Solo.Redis.RedisSoloBuilderExtensions", "Solo.Redis.RedisStreamsBroker", "Solo.Redis.RedisStreamsBrokerOptions"],
            names);
    }

    [Fact]
    public void Classes_AreSealedOrStatic()
    {
        var open = Redis.GetTypes()
            .Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract && !t.IsNested && !t.Name.StartsWith('<'))
            .Select(t => t.FullName);

        Assert.Empty(open);
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        var offenders = ApiConventions.AsyncMethodsBreakingConvention(Redis);

        Assert.Empty(offenders);
    }

    [Fact]
    public void PublicTypes_EachInAFileNamedAfterIt()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "Solo.Redis");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(Path.GetFileNameWithoutExtension)
            .ToHashSet(StringComparer.Ordinal);

        Assert.All(Redis.GetExportedTypes(), t => Assert.Contains(t.Name, files));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Solo.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("No Solo.slnx found.");
    }
}
