using System.CommandLine;
using IcosFl.Controller.Checkpoints;

namespace IcosFl.Cli.Commands;

/// <summary>`icosfl model export|import`: a federation's checkpoint as model.safetensors + model.json, and back.</summary>
public static class ModelCommand
{
    public static Command Create()
    {
        var command = new Command("model", "Export a federation's model as safetensors + JSON sidecar (PyTorch-loadable), or import one as a checkpoint");
        command.Subcommands.Add(Export());
        command.Subcommands.Add(Import());
        return command;
    }

    private static Command Export()
    {
        var id = new Argument<string>("federation-id") { Description = "The federation whose checkpoint is exported" };
        var output = new Option<string>("--out", "-o") { Description = "Folder to write model.safetensors and model.json into", Required = true };
        var checkpoints = new CheckpointOptions();
        var command = new Command("export", "Write a federation's checkpoint as model.safetensors (PyTorch state_dict names) and model.json") { id, output };
        checkpoints.AddTo(command, withKind: true);
        command.SetAction(async (parse, ct) =>
        {
            if (!Guid.TryParse(parse.GetValue(id), out var federationId))
                return Fail("model export", $"'{parse.GetValue(id)}' is not a federation id (a GUID)");
            var (checkpoint, problem) = await checkpoints.LoadAsync(parse, federationId, ct);
            if (checkpoint is null)
                return Fail("model export", problem!);
            var folder = Path.GetFullPath(parse.GetValue(output)!);
            if (File.Exists(folder))
                return Fail("model export", $"--out {folder} is a file; give a folder");
            await ModelExport.WriteAsync(checkpoint, folder, ct);
            Console.Error.WriteLine($"icosfl model export: federation {federationId} round {checkpoint.Round} ({string.Join(" + ", checkpoint.RunConfig.InputFeatures())}) written to {folder}");
            Console.Out.WriteLine(folder);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Import()
    {
        var folder = new Argument<string>("folder") { Description = "A folder with model.safetensors and model.json (as model export writes)" };
        var federation = new Option<string?>("--federation") { Description = "Federation id to file the checkpoint under (default: the one in model.json)" };
        var force = new Option<bool>("--force") { Description = "Replace that federation's existing checkpoints" };
        var checkpoints = new CheckpointOptions();
        var command = new Command("import", "Turn an exported model back into a federation's checkpoint (latest and best), usable by predict and --resume")
        {
            folder, federation, force,
        };
        checkpoints.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            Checkpoint checkpoint;
            try
            {
                checkpoint = ModelExport.Read(parse.GetValue(folder)!);
            }
            catch (InvalidDataException e)
            {
                return Fail("model import", e.Message);
            }

            if (parse.GetValue(federation) is { } text)
            {
                if (!Guid.TryParse(text, out var chosen))
                    return Fail("model import", $"--federation '{text}' is not a federation id (a GUID)");
                checkpoint = checkpoint with { FederationId = chosen };
            }

            var store = checkpoints.Store(parse);
            if (!parse.GetValue(force) && File.Exists(store.PathOf(checkpoint.FederationId, CheckpointKind.Latest)))
                return Fail("model import", $"federation {checkpoint.FederationId} already has checkpoints in {store.Describe(checkpoint.FederationId)}; " +
                                            "pass --force to replace them or --federation to file this one under another id");
            await store.SaveAsync(checkpoint, CheckpointKind.Latest, ct);
            await store.SaveAsync(checkpoint, CheckpointKind.Best, ct);
            Console.Error.WriteLine($"icosfl model import: round {checkpoint.Round} ({string.Join(" + ", checkpoint.RunConfig.InputFeatures())}) stored as federation {checkpoint.FederationId} in {store.Describe(checkpoint.FederationId)}");
            Console.Out.WriteLine(checkpoint.FederationId);
            return ExitCodes.Success;
        });
        return command;
    }

    private static int Fail(string command, string message)
    {
        Console.Error.WriteLine($"icosfl {command}: {message}");
        return ExitCodes.BadUsage;
    }
}
