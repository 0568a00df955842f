using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using IcosFl.Cli.Experiment;
using IcosFl.Contracts;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;

namespace IcosFl.Cli.Commands;

/// <summary>`icosfl experiment`: federated vs local-only vs centralized vs the naive baselines on the same workers.</summary>
public static class ExperimentCommand
{
    /// <summary>
    /// The experiment's own settings (documented in the README): ICOS-FL's learning rate 0.001 with 5 local epochs
    /// needs far more rounds than a quick experiment runs, so it trains faster (0.005) for 10 rounds of 3 epochs,
    /// with a larger model (32 hidden units) over longer windows (30 points = 90 s).
    /// </summary>
    public static RunConfig Defaults { get; } = RunConfig.Default with
    {
        NumServerRounds = 10, LocalEpochs = 3, LearningRate = 0.005, HiddenLayerSize = 32, TimeStep = 30, BatchSize = 32,
    };

    /// <summary>2.5 hours at 3 s per worker: 2,400 points to train on, 600 held out.</summary>
    public const int DefaultPoints = 3000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Create()
    {
        var workers = new Option<int>("--workers", "-w") { Description = "Synthetic workers (ignored with --data)", DefaultValueFactory = _ => 4 };
        var points = new Option<int>("--points") { Description = "Synthetic points per worker (one every 3 s)", DefaultValueFactory = _ => DefaultPoints };
        var runConfig = new Option<string?>("--run-config") { Description = "Run-config overrides, e.g. \"num-server-rounds=20 forecast-horizon=50\"" };
        var seed = new Option<int?>("--seed") { Description = "Seed of the synthetic fleet and of training (overrides seed)" };
        var data = new Option<DirectoryInfo?>("--data") { Description = "Folder of CSV files, one per worker (the import format), instead of the synthetic fleet" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document on stdout (progress stays on stderr)" };
        var command = new Command("experiment",
            "Compare the federated model with local-only, centralized, persistence and seasonal-naive forecasts on the same held-out data")
        {
            workers, points, runConfig, seed, data, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            RunConfig config;
            try
            {
                config = RunConfigParser.Parse(parse.GetValue(runConfig), Defaults);
                if (parse.GetValue(seed) is { } s)
                    config = RunConfigParser.Parse($"seed={s}", config);
            }
            catch (RunConfigException e)
            {
                return Task.FromResult(Fail(e.Message));
            }

            IReadOnlyList<(string, FeatureSeries)> series;
            string source;
            if (parse.GetValue(data) is { } dir)
            {
                if (!TryReadData(dir, config, out series, out var problem))
                    return Task.FromResult(Fail(problem!));
                source = dir.FullName;
            }
            else
            {
                int n = parse.GetValue(workers), p = parse.GetValue(points);
                if (n < 1)
                    return Task.FromResult(Fail($"--workers must be at least 1, got {n}"));
                int needed = LocalTraining.MinimumPoints(config) + config.ForecastHorizon;
                if (p < needed)
                    return Task.FromResult(Fail($"--points must be at least {needed} (time-step {config.TimeStep}, train-test-split {config.TrainTestSplit}, forecast-horizon {config.ForecastHorizon}), got {p}"));
                // Nodes 1..N, as in simulate (node 0 is the controller's); the run's inputs read as simulate's workers read theirs.
                series = Enumerable.Range(1, n).Select(i =>
                    FeatureSeries.TryRead(new SyntheticNodeData(i, p, config.Seed), config, out var features, out var missing)
                        ? ($"worker-{i}", features)
                        : throw new InvalidOperationException($"synthetic node {i}: {missing}")).ToList();
                source = "synthetic";
            }

            ExperimentReport report;
            try
            {
                report = QualityExperiment.Run(new ExperimentSettings(series, config, source), m => Console.Error.WriteLine(m), cancellationToken);
            }
            catch (InsufficientDataException e)
            {
                return Task.FromResult(Fail(e.Message));
            }

            if (parse.GetValue(json))
                Console.Out.WriteLine(JsonSerializer.Serialize(report, Json));
            else
                Print(report, config);
            return Task.FromResult(report.TargetsMet ? ExitCodes.Success : ExitCodes.FederationFailed);
        });
        return command;
    }

    private static void Print(ExperimentReport report, RunConfig config)
    {
        static string F(double v) => v.ToString("0.00000", CultureInfo.InvariantCulture);
        Console.Out.WriteLine($"{config.Metric}, {report.Workers.Count} workers ({report.Data}), held-out RMSE / MAE averaged over workers:");
        Console.Out.WriteLine($"| model | horizon | RMSE | MAE |");
        Console.Out.WriteLine($"| --- | --- | --- | --- |");
        foreach (var row in report.Rows)
            Console.Out.WriteLine($"| {row.Model} | {row.Horizon} | {F(row.Rmse)} | {F(row.Mae)} |");
        foreach (var target in report.Targets)
            Console.Out.WriteLine($"{(target.Met ? "met" : "MISSED")}: {target.Name} = {target.Value.ToString("0.000", CultureInfo.InvariantCulture)} (target {(target.Limit == 1.0 ? "< " : "<= ")}{target.Limit.ToString("0.00", CultureInfo.InvariantCulture)})");
    }

    /// <summary>
    /// One worker per *.csv file (named after it): the run's metric, and its input-metrics aligned with it by timestamp, in time order.
    /// </summary>
    private static bool TryReadData(DirectoryInfo dir, RunConfig config, out IReadOnlyList<(string, FeatureSeries)> series, out string? problem)
    {
        series = [];
        int needed = LocalTraining.MinimumPoints(config) + config.ForecastHorizon;
        var why = $"time-step {config.TimeStep} and train-test-split {config.TrainTestSplit} need {LocalTraining.MinimumPoints(config)}, plus forecast-horizon {config.ForecastHorizon}";
        if (!NodeDataDirectory.TryRead(dir.FullName, config.Metric, out var files, out problem, needed, why,
                w => Console.Error.WriteLine($"icosfl experiment: warning: {w}")))
            return false;
        var read = new List<(string, FeatureSeries)>();
        foreach (var file in files)
        {
            if (!FeatureSeries.TryRead(file.ToStore(file.Node), config, out var features, out var unavailable))
            {
                problem = $"{file.FileName}: {unavailable}";
                return false;
            }

            read.Add((file.Node, features));
        }

        series = read;
        return true;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"icosfl experiment: {message}");
        return ExitCodes.BadUsage;
    }
}
