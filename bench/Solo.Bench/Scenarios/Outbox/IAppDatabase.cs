using System.Data.Common;

namespace Solo.Bench.Scenarios.Outbox;

/// <summary>The app's own database in the outbox scenario: where its transactions run and the outbox lives.</summary>
internal interface IAppDatabase : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Creates the app's tables (an events table, and the plain table of the baseline).</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Keeps Solo's outbox in this database.</summary>
    void UseOutbox(SoloBuilder solo, Action<Solo.Outbox.OutboxOptions> configure);
}
