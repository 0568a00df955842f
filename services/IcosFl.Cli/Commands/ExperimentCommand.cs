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
        var plot = new Option<FileInfo?>("--plot") { Description = "Also draw the picture into this PNG file: per worker, actual against the federated forecast, and every model's RMSE per step" };
        var command = new Command("experiment",
            "Compare the federated model (and its personalized form) with local-only, centralized, linear-ar, persistence and seasonal-naive forecasts on the same held-out data, per worker and on average, against the targets")
        {
            workers, points, runConfig, seed, data, json, plot,
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

            var plotFile = parse.GetValue(plot);
            if (plotFile is not null && PlotPathProblem(plotFile) is { } plotProblem)
                return Task.FromResult(Fail(plotProblem));

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

            if (plotFile is not null)
            {
                try
                {
                    ExperimentPlot.Save(report, config.Metric, plotFile.FullName);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return Task.FromResult(Fail($"--plot {plotFile.FullName}: cannot write the picture: {e.Message}"));
                }

                Console.Error.WriteLine($"picture written to {plotFile.FullName} ({ExperimentPlot.Width} x {ExperimentPlot.HeightFor(report.Workers.Count)} px)");
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
        void Table(IReadOnlyList<ExperimentRow> rows)
        {
            Console.Out.WriteLine("| model | horizon | RMSE | MAE |");
            Console.Out.WriteLine("| --- | --- | --- | --- |");
            foreach (var row in rows)
                Console.Out.WriteLine($"| {row.Model} | {row.Horizon} | {F(row.Rmse)} | {F(row.Mae)} |");
        }

        Console.Out.WriteLine($"{config.Metric}, {report.Workers.Count} workers ({report.Data}), held-out RMSE / MAE in the metric's units, averaged over workers:");
        Table(report.Rows);
        foreach (var worker in report.Workers)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine($"{worker.Worker} ({worker.Points} points, season {(worker.SeasonPeriod is { } p ? $"{p} steps" : "none")}; personalization: {worker.Personalization.Reason}):");
            Table(worker.Rows);
        }

        Console.Out.WriteLine();
        Console.Out.WriteLine($"served model: {report.ServedModel} (the global model, as predict serves it)");
        foreach (var target in report.Targets)
            Console.Out.WriteLine($"{(target.Met ? "met" : "MISSED")}: {target.Name} = {target.Value.ToString("0.000", CultureInfo.InvariantCulture)} (target {target.Comparison} {target.Limit.ToString("0.00", CultureInfo.InvariantCulture)})");
        Console.Out.WriteLine($"targets met: {(report.TargetsMet ? "all" : $"{report.Targets.Count(t => t.Met)} of {report.Targets.Count}")}; wall time {(report.DurationMs / 1000).ToString("0.0", CultureInfo.InvariantCulture)} s");
    }

    /// <summary>Why --plot cannot name the picture's file (null when it can): a .png file in a folder that exists, not a folder.</summary>
    private static string? PlotPathProblem(FileInfo file)
    {
        if (!file.Name.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            return $"--plot {file.FullName}: the picture is a PNG file; give a name ending in .png";
        if (Directory.Exists(file.FullName))
            return $"--plot {file.FullName}: is a folder; give a .png file name";
        if (file.Directory is not { Exists: true } folder)
            return $"--plot {file.FullName}: folder {file.DirectoryName} does not exist";
        return null;
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
