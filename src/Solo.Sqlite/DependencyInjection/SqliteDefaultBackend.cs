using Solo;
using Solo.Sqlite;

[assembly: SoloDefaultBackend(typeof(SqliteDefaultBackend))]

namespace Solo.Sqlite;

/// <summary>
/// Makes SQLite the backend of <c>services.AddSolo(...)</c> when the app names none: the core finds this
/// type through <see cref="SoloDefaultBackendAttribute"/> and calls <see cref="Register"/>.
/// </summary>
internal static class SqliteDefaultBackend
{
    /// <summary>Registers SQLite at <see cref="SqliteOptions.DefaultPath"/>; public so that the core can call it.</summary>
    public static void Register(SoloBuilder builder) => builder.UseSqlite(SqliteOptions.DefaultPath);
}
