using IcosFl.Contracts;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;

namespace IcosFl.Cli.Simulation;

/// <summary>
/// Real series for `simulate --data DIR`: one CSV per worker (the import format), the worker named after the file;
/// a file named after the controller's node (<see cref="ControllerFile"/>) is the controller's own data for its
/// centralized evaluation, else the controller keeps its synthetic series.
/// </summary>
public sealed record SimulationData(string Directory, IReadOnlyList<NodeDataFile> Workers, NodeDataFile? Controller)
{
    /// <summary>The embedded controller's node name, and so the name of its data file ("controller.csv").</summary>
    public const string ControllerNode = "controller";

    public const string ControllerFile = ControllerNode + ".csv";

    /// <summary>Every file points needed at <paramref name="config"/>: a training and a test window, plus the forecast horizon.</summary>
    public static int MinimumPoints(RunConfig config) => SeriesChecks.PointsNeeded(config);

    /// <summary>Reads the folder for <paramref name="config"/>'s metric, or says why it cannot be used.</summary>
    /// <param name="warn">Receives each warning about the files (gaps, repeated timestamps, another interval), for stderr.</param>
    public static (SimulationData? Data, string? Problem) Load(string directory, RunConfig config, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        int needed = MinimumPoints(config);
        var why = $"time-step {config.TimeStep} and train-test-split {config.TrainTestSplit} need {LocalTraining.MinimumPoints(config)}, " +
                  $"plus forecast-horizon {config.ForecastHorizon}";
        if (!NodeDataDirectory.TryRead(directory, config.Metric, out var files, out var problem, needed, why, warn))
            return (null, problem);

        foreach (var file in files)
        {
            try
            {
                NodeName.Require(file.Node);
            }
            catch (ArgumentException)
            {
                return (null, $"{file.FileName}: '{file.Node}' cannot name a worker; name the file with letters, digits, '.', '_' or '-' only");
            }
        }

        var workers = files.Where(f => f.Node != ControllerNode).ToList();
        if (workers.Count == 0)
            return (null, $"--data {Path.GetFullPath(directory)} holds only {ControllerFile}; add one CSV per worker");
        return (new SimulationData(Path.GetFullPath(directory), workers, files.FirstOrDefault(f => f.Node == ControllerNode)), null);
    }
}
