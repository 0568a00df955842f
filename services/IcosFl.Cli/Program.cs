using System.CommandLine;
using IcosFl.Cli;
using IcosFl.Cli.Commands;
using IcosFl.Infrastructure.Hosting;

StartupTrace.Mark("main entered (runtime started)");

var root = new RootCommand("icosfl: federated learning of node resource forecasts (controller, workers, simulation)");
root.Subcommands.Add(SimulateCommand.Create());
root.Subcommands.Add(ControllerCommand.Create());
root.Subcommands.Add(WorkerCommand.Create());
root.Subcommands.Add(StartCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(LsCommand.Create());
root.Subcommands.Add(StopCommand.Create());
root.Subcommands.Add(DataCommand.Create());
root.Subcommands.Add(ExperimentCommand.Create());
root.Subcommands.Add(RunConfigCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(ModelCommand.Create());
root.Subcommands.Add(LogsCommand.Create());
root.Subcommands.Add(NodeCommand.Create());

var parseResult = root.Parse(args);
if (parseResult.Errors.Count > 0)
{
    foreach (var error in parseResult.Errors)
        Console.Error.WriteLine($"icosfl: {error.Message}");
    Console.Error.WriteLine("Run 'icosfl --help' for usage.");
    return ExitCodes.BadUsage;
}
return await parseResult.InvokeAsync();
