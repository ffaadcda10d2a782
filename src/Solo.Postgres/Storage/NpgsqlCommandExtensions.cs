using System.Runtime.InteropServices;
using Npgsql;
using NpgsqlTypes;

namespace Solo.Postgres.Storage;

/// <summary>Positional parameters (<c>$1</c>, <c>$2</c>, ...) in the order they are added.</summary>
internal static class NpgsqlCommandExtensions
{
    public static NpgsqlCommand With<T>(this NpgsqlCommand command, T value)
    {
        command.Parameters.Add(new NpgsqlParameter<T> { TypedValue = value });
        return command;
    }

    public static NpgsqlBatchCommand With<T>(this NpgsqlBatchCommand command, T value)
    {
        command.Parameters.Add(new NpgsqlParameter<T> { TypedValue = value });
        return command;
    }

    /// <summary>Adds a <c>timestamptz</c> that may be null (start times are optional).</summary>
    public static NpgsqlCommand WithTime(this NpgsqlCommand command, DateTimeOffset? value)
    {
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = value is { } at ? at.UtcDateTime : DBNull.Value });
        return command;
    }

    /// <summary>Adds a <c>bigint</c> that may be null (a token that may be left open).</summary>
    public static NpgsqlBatchCommand WithBigint(this NpgsqlBatchCommand command, long? value)
    {
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value is { } v ? v : DBNull.Value });
        return command;
    }

    /// <summary>The bytes as an array, without a copy when the memory is a whole array already.</summary>
    public static byte[] AsArray(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();
}
