namespace Solo.Postgres.Tests.Support;

/// <summary>
/// A database of its own on the shared server, for a test class (as a class fixture) or a single test:
/// tests see no rows but their own, and a migration test starts from nothing.
/// </summary>
public sealed class FreshDatabase : IAsyncLifetime
{
    private string? _connectionString;

    public string ConnectionString => _connectionString ?? throw new InvalidOperationException("The database is created in InitializeAsync.");

    public static async Task<string> CreateAsync() => await PostgresServer.Shared.CreateDatabaseAsync();

    public async Task InitializeAsync() => _connectionString = await CreateAsync();

    /// <summary>Drops the database (ending its connections), so that the shared server stays small.</summary>
    public async Task DisposeAsync()
    {
        if (_connectionString is not null)
        {
            await PostgresServer.Shared.DropDatabaseAsync(_connectionString);
        }
    }
}
