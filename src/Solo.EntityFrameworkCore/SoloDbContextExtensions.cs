using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Solo.EntityFrameworkCore;

/// <summary>
/// Enqueues in a <see cref="DbContext"/>'s transaction: the task is written to Solo's transactional outbox in
/// that transaction, so it is published if and only if the context's changes commit, even when the process
/// dies right after the commit.
/// </summary>
/// <remarks>
/// The outbox must live in the context's database: configure it with <c>UseSqliteOutbox</c> (the same file)
/// or <c>UsePostgresOutbox</c> (the same database) in <c>AddSolo</c>.
/// </remarks>
/// <example>
/// <code>
/// await using var transaction = await db.Database.BeginTransactionAsync(ct);
/// loan.Version++;
/// await db.SaveChangesAsync(ct);
/// await solo.EnqueueAsync(new RecomputeLoan(loan.Id), db, cancellationToken: ct);
/// await transaction.CommitAsync(ct);
/// </code>
/// </example>
public static class SoloDbContextExtensions
{
    /// <summary>Enqueues a task in <paramref name="context"/>'s current transaction, through the outbox.</summary>
    /// <typeparam name="TArgs">The task's arguments; their type names the registered task.</typeparam>
    /// <param name="client">The Solo client.</param>
    /// <param name="args">The task's arguments.</param>
    /// <param name="context">The context whose transaction the enqueue joins.</param>
    /// <param name="options">Delay, start time, unique key or queue; null for the task's defaults.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A <see cref="EnqueueOutcome.Deferred"/> result with the id the task will have.</returns>
    /// <exception cref="InvalidOperationException">The context has no transaction open, or Solo has no outbox.</exception>
    public static Task<EnqueueResult> EnqueueAsync<TArgs>(this ISoloClient client, TArgs args, DbContext context, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.EnqueueAsync(args, CurrentTransaction(context), options, cancellationToken);
    }

    /// <summary>Enqueues many tasks in <paramref name="context"/>'s current transaction, through the outbox.</summary>
    /// <typeparam name="TArgs">The tasks' arguments.</typeparam>
    /// <param name="client">The Solo client.</param>
    /// <param name="args">The tasks' arguments.</param>
    /// <param name="context">The context whose transaction the enqueues join.</param>
    /// <param name="options">Options for every task; null for the task's defaults.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>One <see cref="EnqueueOutcome.Deferred"/> result per task.</returns>
    /// <exception cref="InvalidOperationException">The context has no transaction open, or Solo has no outbox.</exception>
    public static Task<IReadOnlyList<EnqueueResult>> EnqueueManyAsync<TArgs>(this ISoloClient client, IEnumerable<TArgs> args, DbContext context, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
        where TArgs : notnull
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.EnqueueManyAsync(args, CurrentTransaction(context), options, cancellationToken);
    }

    private static System.Data.Common.DbTransaction CurrentTransaction(DbContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // SaveChanges' own transaction ends inside SaveChanges, before an enqueue could join it, so the
        // enqueue needs a transaction the app holds open across its SaveChanges and the commit.
        var transaction = context.Database.CurrentTransaction
            ?? throw new InvalidOperationException(
                $"The {context.GetType().Name} has no open transaction, so the enqueue could not commit with its changes. Begin one with Database.BeginTransactionAsync(), enqueue, SaveChangesAsync(), then commit it.");
        return transaction.GetDbTransaction();
    }
}
