using System.Reflection;
using Solo.Tests.Support;

namespace Solo.Tests.Api;

/// <summary>Keeps the public surface's conventions true for every type the core ships.</summary>
public sealed class ApiConventionTests
{
    private static readonly Assembly Core = typeof(ISoloClient).Assembly;

    [Fact]
    public void PublicTypes_Classes_AreSealedOrAbstractOrStatic()
    {
        var open = ApiConventions.OpenPublicClasses(Core);

        Assert.Empty(open);
    }

    [Fact]
    public void PublicMethods_Async_EndInAsyncAndTakeACancellationToken()
    {
        var offenders = ApiConventions.AsyncMethodsBreakingConvention(Core);

        Assert.Empty(offenders);
    }

    [Fact]
    public void Library_NeverWritesToConsole()
    {
        var console = typeof(Console);
        var usesConsole = Core.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetMethodBody() is not null)
            .Where(m => ReferencesType(m, console))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToArray();

        Assert.Empty(usesConsole);
    }

    [Fact]
    public void PublicTypes_HaveOnePerFileNamedAfterThem()
    {
        // Nested public types are part of their parent's file; every top-level public type has its own.
        var names = Core.GetExportedTypes().Where(t => !t.IsNested).Select(t => t.Name.Split('`')[0]).ToArray();

        Assert.Equal(names.Length, names.Distinct(StringComparer.Ordinal).Count());
    }

    private static bool ReferencesType(MethodInfo method, Type type)
    {
        var il = method.GetMethodBody()!.GetILAsByteArray() ?? [];
        for (var i = 0; i + 4 < il.Length; i++)
        {
            // call / callvirt followed by a method token
            if (il[i] is 0x28 or 0x6F)
            {
                var token = BitConverter.ToInt32(il, i + 1);
                try
                {
                    var target = method.Module.ResolveMethod(token, method.DeclaringType?.GetGenericArguments(), method.IsGenericMethod ? method.GetGenericArguments() : null);
                    if (target?.DeclaringType == type)
                    {
                        return true;
                    }
                }
                catch (ArgumentException)
                {
                    // Not a method token at this offset: the byte was an operand, not an opcode.
                }
            }
        }

        return false;
    }
}
