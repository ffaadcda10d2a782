namespace Solo;

/// <summary>
/// Marks a backend assembly whose type <see cref="RegistrarType"/> configures Solo when the app names
/// no backend. It must have a public static method <c>Register(SoloBuilder)</c>. Solo.Sqlite carries it,
/// which makes the embedded SQLite store the default.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class SoloDefaultBackendAttribute(Type registrarType) : Attribute
{
    /// <summary>The type with the static <c>Register(SoloBuilder)</c> method.</summary>
    public Type RegistrarType { get; } = registrarType;
}
