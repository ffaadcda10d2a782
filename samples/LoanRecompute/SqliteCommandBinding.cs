using Microsoft.Data.Sqlite;

namespace LoanRecompute;

/// <summary>Sets parameters on a reused prepared statement: the first use adds them, later uses overwrite them.</summary>
internal static class SqliteCommandBinding
{
    public static SqliteCommand Set(this SqliteCommand command, string name, object? value)
    {
        var parameters = command.Parameters;
        var parameter = parameters.Contains(name) ? parameters[name] : parameters.Add(new SqliteParameter { ParameterName = name });
        parameter.Value = value ?? DBNull.Value;
        return command;
    }
}
