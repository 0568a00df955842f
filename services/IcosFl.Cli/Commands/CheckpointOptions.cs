using System.CommandLine;
using IcosFl.Controller.Checkpoints;

namespace IcosFl.Cli.Commands;

/// <summary>Where checkpoints are (controller, simulate, start, predict, model), and which one of a federation to use.</summary>
public sealed class CheckpointOptions
{
    public Option<string> Directory { get; } = new("--checkpoint-dir")
    {
        Description = "Folder of the checkpoints, one folder per federation (default: $ICOSFL_CHECKPOINT_DIR or .icosfl/checkpoints)",
        DefaultValueFactory = _ => FileCheckpointStore.DefaultDirectory,
    };

    public Option<string> Kind { get; } = new("--checkpoint")
    {
        Description = "Which checkpoint of the federation: best (by the controller's evaluation; the latest when none is best) or latest",
        DefaultValueFactory = _ => "best",
    };

    public void AddTo(Command command, bool withKind = false)
    {
        command.Options.Add(Directory);
        if (withKind)
            command.Options.Add(Kind);
    }

    public FileCheckpointStore Store(ParseResult parse) => new(parse.GetValue(Directory)!);

    /// <summary>The federation's chosen checkpoint, or the reason there is none.</summary>
    public async Task<(Checkpoint? Checkpoint, string? Problem)> LoadAsync(ParseResult parse, Guid federationId, CancellationToken ct)
    {
        var store = Store(parse);
        var kind = parse.GetValue(Kind) switch
        {
            "best" => CheckpointKind.Best,
            "latest" => CheckpointKind.Latest,
            var other => (CheckpointKind?)null,
        };
        if (kind is null)
            return (null, $"--checkpoint must be 'best' or 'latest', got '{parse.GetValue(Kind)}'");
        try
        {
            var checkpoint = await store.LoadAsync(federationId, kind.Value, ct);
            // Without centralized evaluation (no controller data) there is no best: the latest is the model to use.
            if (checkpoint is null && kind == CheckpointKind.Best)
                checkpoint = await store.LoadAsync(federationId, CheckpointKind.Latest, ct);
            return checkpoint is null
                ? (null, $"no checkpoint of federation {federationId} in {store.Describe(federationId)} (see --checkpoint-dir)")
                : (checkpoint, null);
        }
        catch (InvalidDataException e)
        {
            return (null, e.Message);
        }
    }
}
