using System.Reflection;

namespace Solo.Tests.Support;

/// <summary>
/// The conventions every Solo package's public surface keeps, as queries that return the offenders; each
/// package's ApiConventionTests asserts they are empty for its own assembly.
/// </summary>
public static class ApiConventions
{
    /// <summary>Public classes that are neither sealed, abstract nor static.</summary>
    public static IEnumerable<string?> OpenPublicClasses(Assembly assembly) =>
        assembly.GetExportedTypes()
            .Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract)
            .Select(t => t.FullName);

    /// <summary>Public asynchronous methods whose name does not end in Async or that take no CancellationToken.</summary>
    public static IEnumerable<string> AsyncMethodsBreakingConvention(Assembly assembly) =>
        assembly.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => !m.IsSpecialName && IsAsynchronous(m.ReturnType))
            .Where(m => m.Name != "DisposeAsync")
            .Where(m => !m.Name.EndsWith("Async", StringComparison.Ordinal) || !m.GetParameters().Any(p => p.ParameterType == typeof(CancellationToken)))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}");

    private static bool IsAsynchronous(Type returnType) =>
        typeof(IAsyncResult).IsAssignableFrom(returnType)
        || returnType.Name.StartsWith("ValueTask", StringComparison.Ordinal)
        || returnType.Name.StartsWith("IAsyncEnumerable", StringComparison.Ordinal);
}
