namespace LoanRecompute.Tests.Support;

/// <summary>A finished run of the sample.</summary>
internal sealed record SampleRun(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}
