namespace Solo.Postgres.Storage;

/// <summary>One step of Solo's schema: applied once per database, in order of <see cref="Version"/>.</summary>
/// <param name="Version">Its number in <c>solo_schema_migrations</c>; never reused, never changed once released.</param>
/// <param name="Description">What it adds, for people reading the list.</param>
/// <param name="Sql">Its statements for the given names; run in the migration's transaction.</param>
internal sealed record PostgresMigration(int Version, string Description, Func<PostgresNames, string> Sql);
