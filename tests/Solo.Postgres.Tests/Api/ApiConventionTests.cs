using System.Reflection;
using Solo.Tests.Support;

namespace Solo.Postgres.Tests.Api;

/// <summary>Keeps the public surface of Solo.Postgres small and conventional.</summary>
public sealed class ApiConventionTests
{
    private static readonly Assembly Postgres = typeof(PostgresLockStore).Assembly;

    [Fact]
    public void PublicTypes_AreExactlyWhatUsersNeed()
    {
        var names = Postgres.GetExportedTypes().Select(t => t.FullName).Order(StringComparer.Ordinal);

        Assert.Equal(
            ["Solo.Postgres.PostgresBroker", "Solo.Postgres.PostgresLockStore", "Solo.Postgres.PostgresOptions", "Solo.Postgres.PostgresSoloBuilderExtensions"],
            names);
    }

    [Fact]
    public void Classes_AreSealedOrStatic()
    {
        var open = Postgres.GetTypes()
            .Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract && !t.IsNested && !t.Name.StartsWith('<'))
            .Select(t => t.FullName);

        Assert.Empty(open);
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        var offenders = ApiConventions.AsyncMethodsBreakingConvention(Postgres);

        Assert.Empty(offenders);
    }

    [Fact]
    public void PublicTypes_EachInAFileNamedAfterIt()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "Solo.Postgres");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(Path.GetFileNameWithoutExtension)
            .ToHashSet(StringComparer.Ordinal);

        Assert.All(Postgres.GetExportedTypes(), t => Assert.Contains(t.Name, files));
    }

    [Fact]
    public void Library_WritesNothingToTheConsole()
    {
        var console = Postgres.GetReferencedAssemblies().Select(a => a.Name).Where(n => n == "System.Console");

        Assert.Empty(console);
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
