using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoanRecompute;

/// <summary>The generic host every command runs in: stdout is kept for the one JSON line, so logs go to stderr.</summary>
internal static class SampleHost
{
    public static HostApplicationBuilder CreateBuilder()
    {
        // Our own arguments are not configuration: keep them out of the host's command-line provider.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        return builder;
    }
}
