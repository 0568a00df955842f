using System.CommandLine;
using System.Globalization;
using IcosFl.Controller.Checkpoints;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;
using IcosFl.Learning.Prediction;

namespace IcosFl.Cli.Commands;

/// <summary>`icosfl predict`: a node's forecast from a federation's checkpoint or an exported model.</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var federation = new Option<string?>("--federation") { Description = "Use this federation's checkpoint (see --checkpoint)" };
        var model = new Option<string?>("--model") { Description = "Use this model instead: an exported folder (model.safetensors + model.json) or a checkpoint .json file" };
        var node = new Option<string>("--node") { Description = "The node whose stored series is forecast (its store under --data-dir)", Required = true };
        var metric = new Option<string?>("--metric") { Description = "The metric to forecast (default: the model's; another metric is refused)" };
        var horizon = new Option<int?>("--horizon") { Description = "Steps of 3 s ahead (default: the model's forecast-horizon)" };
        var scaler = new Option<string>("--scaler")
        {
            Description = "node: fit min-max on the node's own training split, as the node does when it trains (default); " +
                          "model: use the scaler saved with the model (the controller's)",
            DefaultValueFactory = _ => "node",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "Folder of the node stores (default: $ICOSFL_DATA_DIR or .icosfl/data)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ICOSFL_DATA_DIR") is { Length: > 0 } d ? d : Path.Combine(".icosfl", "data"),
        };
        var checkpoints = new CheckpointOptions();
        var command = new Command("predict", "Forecast a node's metric from its latest stored points with a federation's model")
        {
            federation, model, node, metric, horizon, scaler, json, dataDir,
        };
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

            var config = checkpoint.RunConfig;
            var wanted = parse.GetValue(metric) ?? config.Metric;
            if (wanted != config.Metric)
                return Fail($"--metric {wanted}: the model forecasts {config.Metric}; a model trained on one metric cannot forecast another");
            var steps = parse.GetValue(horizon) ?? config.ForecastHorizon;
            if (steps < 1)
                return Fail($"--horizon must be at least 1, got {steps}");

            var nodeName = parse.GetValue(node)!;
            var folder = Path.Combine(parse.GetValue(dataDir)!, nodeName);
            if (!Directory.Exists(folder))
                return Fail($"node {nodeName} has no store at {Path.GetFullPath(folder)} (see --data-dir, and icosfl data import/collect)");
            var store = new FileNodeStore(parse.GetValue(dataDir)!, nodeName);
            var inputs = config.InputFeatures();

            try
            {
                // A multivariate model reads the node's input metrics too, aligned with the forecast metric by timestamp.
                var missing = inputs.FirstOrDefault(m => store.Points(m).TimesUnixMs.Length == 0);
                if (missing is not null && inputs.Count > 1)
                    return Fail($"node {nodeName} has no {missing} data, which the model reads as an input ({string.Join(", ", inputs)}); " +
                                "a multivariate model needs every input metric on the node");
                var series = FeatureSeries.AlignByTime(inputs, inputs.Select(m => store.Points(m)).Select(p => ((IReadOnlyList<long>)p.TimesUnixMs, (IReadOnlyList<float>)p.Values)).ToList());
                var chosenScalers = parse.GetValue(scaler) switch
                {
                    "node" => Forecaster.NodeScalers(series, config.TrainTestSplit),
                    "model" => checkpoint.SavedScalers(out var why) ?? throw new InvalidDataException($"{why}; use --scaler node"),
                    var other => throw new ArgumentException($"--scaler must be 'node' or 'model', got '{other}'"),
                };
                var forecast = Forecaster.ForecastAt(ForecastModel.From(checkpoint.Weights, config), chosenScalers, series, steps);
                var fittedOn = parse.GetValue(scaler) == "node" ? $"node {nodeName}, training split" : checkpoint.Scaler!.FittedOn;
                if (parse.GetValue(json))
                {
                    Console.Out.WriteLine(CliJson.Serialize(new
                    {
                        model = source,
                        federationId = checkpoint.FederationId,
                        round = checkpoint.Round,
                        node = nodeName,
                        metric = config.Metric,
                        horizon = steps,
                        stepSeconds = forecast.StepInterval.TotalSeconds,
                        origin = forecast.Origin,
                        lastValue = forecast.LastValue,
                        scaler = new { min = forecast.Scaler.Min, max = forecast.Scaler.Max, fittedOn },
                        inputs,
                        scalers = forecast.Scalers.Select((s, f) => new { metric = inputs[f], min = s.Min, max = s.Max, fittedOn }),
                        points = forecast.Points,
                    }));
                }
                else
                {
                    Console.Out.WriteLine($"# {config.Metric} of node {nodeName}, {steps} steps of {forecast.StepInterval.TotalSeconds:0.###} s from " +
                                          $"{forecast.Origin:O} (last value {forecast.LastValue.ToString("G6", CultureInfo.InvariantCulture)}); " +
                                          $"model: {source}, round {checkpoint.Round}" +
                                          (inputs.Count > 1 ? $"; inputs {string.Join(", ", inputs)} (held at their last value ahead)" : ""));
                    foreach (var point in forecast.Points)
                        Console.Out.WriteLine($"{point.Time:O}\t{point.Value.ToString("G6", CultureInfo.InvariantCulture)}");
                }
            }
            catch (Exception e) when (e is InsufficientDataException or InvalidDataException or ArgumentException or IncompatibleWeightsException)
            {
                return Fail($"node {nodeName}, {config.Metric}: {e.Message}");
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
