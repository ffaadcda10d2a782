namespace LoanRecompute;

/// <summary>A command line that cannot be run; its message names the offending argument.</summary>
internal sealed class UsageException(string message) : Exception(message);
