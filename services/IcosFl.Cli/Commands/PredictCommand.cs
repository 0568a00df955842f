using System.CommandLine;
using System.Globalization;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Prediction;
using IcosFl.Infrastructure.Messaging;
using IcosFl.Learning.NodeData;

namespace IcosFl.Cli.Commands;

/// <summary>`icosfl predict`: a node's forecast from a federation's checkpoint or an exported model.</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var federation = new Option<string?>("--federation") { Description = "Use this federation's checkpoint (see --checkpoint)" };
        var model = new Option<string?>("--model") { Description = "Use this model instead: an exported folder (model.safetensors + model.json) or a checkpoint .json file" };
        var node = new Option<string>("--node") { Description = "The node whose stored series is forecast (its store under --data-dir, or in --node-redis)", Required = true };
        var metric = new Option<string?>("--metric") { Description = "The metric to forecast (default: the model's; another metric is refused)" };
        var horizon = new Option<int?>("--horizon") { Description = "Steps of 3 s ahead (default: the model's forecast-horizon)" };
        var scaler = new Option<string>("--scaler")
        {
            Description = "node: fit min-max on the node's own training split, as the node does when it trains (default); " +
                          "model: use the scaler saved with the model (the controller's)",
            DefaultValueFactory = _ => "node",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var where = new NodeStoreOptions();
        var checkpoints = new CheckpointOptions();
        var command = new Command("predict", "Forecast a node's metric from its latest stored points with a federation's model")
        {
            federation, model, node, metric, horizon, scaler, json,
        };
        where.AddTo(command);
        checkpoints.AddTo(command, withKind: true);
        command.SetAction(async (parse, ct) =>
        {
            var (fromFederation, fromModel) = (parse.GetValue(federation), parse.GetValue(model));
            if ((fromFederation is null) == (fromModel is null))
                return Fail("give exactly one of --federation ID and --model PATH");

            Checkpoint checkpoint;
            string source;
            if (fromFederation is not null)
            {
                if (!Guid.TryParse(fromFederation, out var id))
                    return Fail($"--federation '{fromFederation}' is not a federation id (a GUID)");
                var (loaded, problem) = await checkpoints.LoadAsync(parse, id, ct);
                if (loaded is null)
                    return Fail(problem!);
                (checkpoint, source) = (loaded, $"federation {id}");
            }
            else
            {
                try
                {
                    checkpoint = Directory.Exists(fromModel) ? ModelExport.Read(fromModel!) : FileCheckpointStore.Load(fromModel!);
                }
                catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
                {
                    return Fail($"--model: {e.Message}");
                }

                source = Path.GetFullPath(fromModel!);
            }

            var nodeName = parse.GetValue(node)!;
            if (where.MissingFileStore(parse, nodeName) is { } missing)
                return Fail(missing);
            OpenedNodeStore opened;
            try
            {
                opened = await where.OpenAsync(parse, nodeName);
            }
            catch (UnreachableException e)
            {
                Console.Error.WriteLine($"icosfl predict: {e.Message}");
                return ExitCodes.Unreachable;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IOException)
            {
                return Fail(e.Message);
            }

            PredictionDocument prediction;
            using (opened)
            {
                try
                {
                    var store = opened.Store;
                    prediction = NodePrediction.Predict(checkpoint, source, nodeName, m => store.Points(m),
                        parse.GetValue(metric), parse.GetValue(horizon), parse.GetValue(scaler));
                }
                catch (PredictionException e)
                {
                    return Fail(e.Message);
                }
            }

            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(CliJson.Serialize(prediction));
            }
            else
            {
                Console.Out.WriteLine($"# {prediction.Metric} of node {nodeName}, {prediction.Horizon} steps of {prediction.StepSeconds:0.###} s from " +
                                      $"{prediction.Origin:O} (last value {prediction.LastValue.ToString("G6", CultureInfo.InvariantCulture)}); " +
                                      $"model: {source}, round {prediction.Round}" +
                                      (prediction.Inputs.Count > 1 ? $"; inputs {string.Join(", ", prediction.Inputs)} (held at their last value ahead)" : ""));
                foreach (var point in prediction.Points)
                    Console.Out.WriteLine($"{point.Time:O}\t{point.Value.ToString("G6", CultureInfo.InvariantCulture)}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"icosfl predict: {message}");
        return ExitCodes.BadUsage;
    }
}
