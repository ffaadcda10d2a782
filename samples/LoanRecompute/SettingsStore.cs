using System.Globalization;

namespace LoanRecompute;

/// <summary>
/// Keeps <see cref="UniqueSettings"/> in the database, so that producers and workers started separately
/// cannot disagree on them: the first command that names settings (or needs defaults) stores them, and a
/// later one that names different settings is refused.
/// </summary>
internal sealed class SettingsStore(LoanDatabase database)
{
    private const string ReadSql = "SELECT name, value FROM settings WHERE name IN ('mode', 'window_ms')";

    private const string WriteSql = "INSERT INTO settings (name, value) VALUES ($name, $value)";

    private static readonly TimeSpan WaitPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The settings in force. When the database holds none, stores <paramref name="requested"/> (filled up
    /// with defaults) if it names anything or <paramref name="storeDefaults"/> is set, and otherwise returns null.
    /// </summary>
    /// <exception cref="UsageException"><paramref name="requested"/> disagrees with what the database holds.</exception>
    public async Task<UniqueSettings?> ClaimAsync(RequestedSettings requested, bool storeDefaults, CancellationToken cancellationToken)
    {
        var stored = await database.WriteAsync(
            db =>
            {
                var current = Read(db);
                if (current is not null || (requested.IsEmpty && !storeDefaults))
                {
                    return current;
                }

                var chosen = requested.OrDefaults();
                db.Command(WriteSql).Set("$name", "mode").Set("$value", chosen.ModeName).ExecuteNonQuery();
                db.Command(WriteSql).Set("$name", "window_ms").Set("$value", chosen.WindowMs.ToString(CultureInfo.InvariantCulture)).ExecuteNonQuery();
                return chosen;
            },
            cancellationToken);

        if (stored is not null
            && ((requested.ModeName is { } mode && mode != stored.ModeName) || (requested.WindowMs is { } window && window != stored.WindowMs)))
        {
            throw new UsageException(string.Create(
                CultureInfo.InvariantCulture,
                $"the database '{database.Path}' is set up for --mode {stored.ModeName} --window {stored.WindowMs}, and every process that shares it must use them: drop --mode/--window, repeat those values, or use a new file"));
        }

        return stored;
    }

    /// <summary>Waits until some producer has stored the settings; <paramref name="waiting"/> is called once if it has to wait.</summary>
    public async Task<UniqueSettings> WaitAsync(Action waiting, CancellationToken cancellationToken)
    {
        var told = false;
        while (true)
        {
            if (await database.ReadAsync(Read, cancellationToken) is { } settings)
            {
                return settings;
            }

            if (!told)
            {
                waiting();
                told = true;
            }

            await Task.Delay(WaitPoll, cancellationToken);
        }
    }

    private static UniqueSettings? Read(LoanDatabase db)
    {
        string? mode = null;
        int? window = null;
        using (var reader = db.Command(ReadSql).ExecuteReader())
        {
            while (reader.Read())
            {
                var value = reader.GetString(1);
                if (reader.GetString(0) == "mode")
                {
                    mode = value;
                }
                else
                {
                    window = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
        }

        if (mode is null || window is null)
        {
            return null;
        }

        return UniqueSettings.IsMode(mode)
            ? new UniqueSettings(mode, window.Value)
            : throw new InvalidOperationException($"the database '{db.Path}' holds an unknown mode '{mode}'");
    }
}
