using System.Data.Common;
using Npgsql;
using Solo.Postgres;

namespace Solo.Bench.Scenarios.Outbox;

/// <summary>The app's tables in the PostgreSQL database of Solo's broker, under the run's table prefix.</summary>
internal sealed class PostgresAppDatabase(string connectionString, string tablePrefix) : IAppDatabase
{
    public string Name => "postgres";

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = AppSchema.Create.Replace("{0}", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", StringComparison.Ordinal)
            + "TRUNCATE bench_events, bench_plain;";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public void UseOutbox(SoloBuilder solo, Action<Solo.Outbox.OutboxOptions> configure) =>
        solo.UsePostgresOutbox(connectionString, configure, o => o.TablePrefix = tablePrefix);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
