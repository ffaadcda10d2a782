namespace Solo;

/// <summary>Thrown when no task is registered for an arguments type or a task name.</summary>
public sealed class TaskNotRegisteredException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskNotRegisteredException(string message)
        : base(message)
    {
    }
}
