using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Solo.Sqlite;

/// <summary>Binding and reading helpers for the reused statements of <see cref="SqliteDatabase"/>.</summary>
internal static class SqliteCommandExtensions
{
    /// <summary>Sets a parameter, adding it on the statement's first use.</summary>
    public static SqliteCommand Bind(this SqliteCommand command, string name, object? value)
    {
        var index = command.Parameters.IndexOf(name);
        if (index < 0)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        else
        {
            command.Parameters[index].Value = value ?? DBNull.Value;
        }

        return command;
    }

    /// <summary>The bytes to bind for a body, without a copy when they are a whole array already.</summary>
    public static byte[] AsArray(ReadOnlyMemory<byte> body) =>
        MemoryMarshal.TryGetArray(body, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : body.ToArray();

    /// <summary>
    /// A column as bytes, whatever its storage class: a row written by hand may hold text or NULL where a
    /// body belongs, and it must still be delivered so that the worker can dead-letter it.
    /// </summary>
    public static byte[] GetBytes(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? [] : reader.GetFieldValue<byte[]>(ordinal);

    /// <summary>A stored time; clamped, since a row written by hand may hold any number.</summary>
    public static DateTimeOffset ToTime(long utcTicks) =>
        new(Math.Clamp(utcTicks, DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero);

    /// <summary><paramref name="utcTicks"/> plus <paramref name="span"/>, clamped to the last representable time.</summary>
    public static long AddClamped(long utcTicks, TimeSpan span) =>
        span.Ticks > DateTimeOffset.MaxValue.UtcTicks - utcTicks ? DateTimeOffset.MaxValue.UtcTicks : utcTicks + span.Ticks;
}
