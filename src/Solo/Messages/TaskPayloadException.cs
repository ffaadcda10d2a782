namespace Solo;

/// <summary>Thrown when a task's arguments cannot be serialized, or the message is over the size limit.</summary>
public sealed class TaskPayloadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskPayloadException(string taskName, string message, Exception? innerException = null)
        : base($"Task '{taskName}': {message}", innerException)
    {
        TaskName = taskName;
    }

    /// <summary>The task whose payload was refused.</summary>
    public string TaskName { get; }
}
