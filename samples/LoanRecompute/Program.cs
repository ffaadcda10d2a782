using LoanRecompute;

if (CommandLine.IsHelp(args))
{
    Console.Out.WriteLine(CommandLine.Usage);
    return 0;
}

CommandOptions command;
try
{
    command = CommandLine.Parse(args);
}
catch (UsageException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}\n");
    await Console.Error.WriteAsync(CommandLine.Usage);
    return 2;
}

try
{
    return command switch
    {
        SimulationOptions simulate => await SimulateCommand.RunAsync(simulate),
        WorkerOptions worker => await WorkerCommand.RunAsync(worker),
        ProduceOptions produce => await ProduceCommand.RunAsync(produce),
        VerifyOptions verify => await VerifyCommand.RunAsync(verify),
        _ => throw new InvalidOperationException($"no handler for {command.GetType().Name}"),
    };
}
catch (UsageException ex)
{
    // The command line was well formed but does not fit the database (another mode, no file).
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    return 2;
}
