using Microsoft.Extensions.Logging;

namespace Solo.Bench.Hosting;

/// <summary>
/// Counts the warnings and errors the core logs and echoes the first few to stderr: a benchmark that
/// quietly retried or dead-lettered would measure the wrong thing, so each JSON line carries the counts.
/// </summary>
internal sealed class BenchLog : ILoggerProvider
{
    private const int Echoed = 20;

    private int _warnings;
    private int _errors;
    private int _echoed;

    public int Warnings => Volatile.Read(ref _warnings);

    public int Errors => Volatile.Read(ref _errors);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(string category, LogLevel level, string message, Exception? exception)
    {
        _ = level >= LogLevel.Error ? Interlocked.Increment(ref _errors) : Interlocked.Increment(ref _warnings);
        if (Interlocked.Increment(ref _echoed) <= Echoed)
        {
            Console.Error.WriteLine($"[core {level}] {category}: {message}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}");
        }
    }

    private sealed class Logger(BenchLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner.Write(category, logLevel, formatter(state, exception), exception);
            }
        }
    }
}
