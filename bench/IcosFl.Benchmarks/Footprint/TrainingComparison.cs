using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using IcosFl.Contracts;
using IcosFl.Learning;
using IcosFl.Learning.Export;

namespace IcosFl.Benchmarks.Footprint;

/// <summary>
/// Local training of ICOS-FL's model (LSTM hidden 10, time-step 10, batch 64, 5 local epochs, Adam 0.001, one
/// output, 2,000 points of one synthetic node) by IcosFl's own <see cref="LocalTraining.Train(ModelWeights, FeatureSeries, RunConfig, int, CancellationToken)"/>
/// (TorchSharp, the code a worker runs) against PyTorch (Debian's python3-torch: torch.nn.LSTM, torch.optim.Adam) on the
/// same windows, from the same initial weights, in the same batch order (IcosFl's shuffle, replayed here and handed to
/// the script). Each trainer is a process of its own, as each worker is: alone, and three at once on the machine's cores,
/// their measured trainings starting together after a warm-up.
/// </summary>
public static class TrainingComparison
{
    public const string ChildCommand = "footprint-train";
    private const int Seed = 7;
    private const int Points = 2000;
    private const int SyntheticNode = 1;
    private const string Python = "/usr/bin/python3";

    /// <summary>The run config of the comparison: IcosFl's defaults (ICOS-FL's) with one output, as ICOS-FL's model has.</summary>
    public static RunConfig Config { get; } = new() { ForecastHorizon = 1 };

    public sealed record TrainerResult(string Engine, int Threads, int InteropThreads, IReadOnlyList<double> EpochMs, double Loss);

    /// <summary>The rows of the comparison (time per epoch, ratio, losses), each beside its target.</summary>
    public static async Task<List<FootprintRow>> RunAsync(bool quick)
    {
        if (!File.Exists(Python) || !await PythonHasTorchAsync())
            throw new InvalidOperationException($"footprint: {Python} cannot import torch (apt-get install -y python3-torch): the training baseline is PyTorch");
        var job = Directory.CreateTempSubdirectory("icosfl-footprint-train-").FullName;
        try
        {
            WriteJob(job);
            int repeats = quick ? 3 : 5;
            var rows = new List<FootprintRow>();
            // TorchSharp's intra-op threads: IcosFl's default (1, TorchSetup) and the machine's cores (PyTorch's default).
            int cores = Environment.ProcessorCount;
            var variants = new (string Engine, int Threads)[] { ("torchsharp", 1), ("torchsharp", cores), ("pytorch", 0), ("pytorch", cores) };
            foreach (var concurrent in new[] { 1, 3 })
            {
                var results = new Dictionary<(string, int), List<TrainerResult>>();
                foreach (var (engine, threads) in variants)
                {
                    results[(engine, threads)] = await RunTrainersAsync(job, engine, threads, concurrent, repeats);
                    Console.Error.WriteLine($"footprint: {engine} threads {threads} x{concurrent}: "
                        + string.Join(" | ", results[(engine, threads)].Select(r => $"{Measure.Median(r.EpochMs):0.#} ms/epoch, loss {r.Loss:0.########}")));
                }

                var pytorch = results[("pytorch", 0)];
                double pytorchMs = Mean(pytorch.Select(r => Measure.Median(r.EpochMs)));
                double pytorchLoss = pytorch[0].Loss;
                string when = concurrent == 1 ? "alone" : $"{concurrent} trainers at once on {cores} cores";
                foreach (var ((engine, threads), trainers) in results)
                {
                    var medians = trainers.Select(r => Measure.Median(r.EpochMs)).ToList();
                    double ms = Mean(medians);
                    string name = engine == "pytorch"
                        ? $"PyTorch {(threads == 0 ? "default threads" : $"{threads} thread(s)")} ({trainers[0].Threads} intra-op, {trainers[0].InteropThreads} inter-op)"
                        : $"TorchSharp {threads} intra-op thread(s){(threads == 1 ? " (IcosFl's default)" : "")} ({trainers[0].InteropThreads} inter-op)";
                    bool isTorchSharp = engine == "torchsharp";
                    rows.Add(new FootprintRow($"training ms per epoch, {name}, {when}", ms, "ms",
                        isTorchSharp ? $"<= 1.0 x PyTorch ({pytorchMs:0.#} ms)" : "baseline",
                        isTorchSharp ? ms <= pytorchMs : null, medians));
                    if (isTorchSharp)
                    {
                        rows.Add(new FootprintRow($"training time / PyTorch's, {name}, {when}", ms / pytorchMs, "x", "<= 1.0", ms / pytorchMs <= 1.0, []));
                        double lossGap = Math.Abs(trainers[0].Loss - pytorchLoss);
                        rows.Add(new FootprintRow($"|loss - PyTorch's loss| after 5 epochs, {name}, {when} (loss {trainers[0].Loss:0.######} vs {pytorchLoss:0.######})",
                            lossGap, "", "<= 1e-4", lossGap <= 1e-4, []));
                    }
                }
            }

            return rows;
        }
        finally
        {
            Directory.Delete(job, recursive: true);
        }
    }

    private static double Mean(IEnumerable<double> values) => values.Average();

    private static async Task<bool> PythonHasTorchAsync()
    {
        using var probe = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch"]) { RedirectStandardError = true })!;
        await probe.WaitForExitAsync();
        return probe.ExitCode == 0;
    }

    /// <summary>The node's series, prepared as <see cref="LocalTraining"/> prepares it (split, scaled on the training part).</summary>
    private static (FeatureSeries Series, WindowSet Train, float[] Ahead, float[] Mask) Windows()
    {
        var series = FeatureSeries.Univariate(Config.Metric, SyntheticFleet.Series(Config.Metric, SyntheticNode, Points, 42));
        var train = PreparedSeries.Prepare(series, Config).Train;
        var (ahead, mask) = SlidingWindows.Ahead(train, LstmLayout.OutputSizeOf(Config));
        return (series, train, ahead, mask);
    }

    /// <summary>The batch order of every epoch, as LocalTraining draws it from System.Random(seed).</summary>
    private static List<long[]> Orders(int count)
    {
        var random = new Random(Seed);
        var order = Enumerable.Range(0, count).Select(i => (long)i).ToArray();
        var orders = new List<long[]>();
        for (int epoch = 0; epoch < Config.LocalEpochs; epoch++)
        {
            random.Shuffle(order);
            orders.Add((long[])order.Clone());
        }
        return orders;
    }

    private static void WriteJob(string folder)
    {
        var (_, train, ahead, mask) = Windows();
        var job = new JsonObject
        {
            ["count"] = train.Count,
            ["timeStep"] = Config.TimeStep,
            ["features"] = train.Features,
            ["steps"] = LstmLayout.OutputSizeOf(Config),
            ["hiddenSize"] = Config.HiddenLayerSize,
            ["numLayers"] = Config.NumLayers,
            ["batchSize"] = Config.BatchSize,
            ["epochs"] = Config.LocalEpochs,
            ["learningRate"] = Config.LearningRate,
            // float -> double is exact, and the script's float32 tensors round them back to the very same floats.
            ["inputs"] = new JsonArray([.. train.Inputs.Select(v => JsonValue.Create((double)v))]),
            ["targets"] = new JsonArray([.. ahead.Select(v => JsonValue.Create((double)v))]),
            ["masks"] = new JsonArray([.. mask.Select(v => JsonValue.Create((double)v))]),
            ["orders"] = new JsonArray([.. Orders(train.Count).Select(o => (JsonNode)new JsonArray([.. o.Select(i => JsonValue.Create(i))]))]),
        };
        File.WriteAllText(Path.Combine(folder, "job.json"), job.ToJsonString());
        File.WriteAllBytes(Path.Combine(folder, "initial.safetensors"), SafeTensors.Write(LocalTraining.InitialWeights(Config)));
    }

    private static async Task<List<TrainerResult>> RunTrainersAsync(string job, string engine, int threads, int concurrent, int repeats)
    {
        // Late enough for every trainer to have started and warmed up (python imports torch in about 1-2 s).
        long startAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 8_000;
        var trainers = Enumerable.Range(0, concurrent).Select(_ =>
        {
            var info = engine == "pytorch"
                ? new ProcessStartInfo(Python, [Path.Combine(AppContext.BaseDirectory, "Footprint", "train_pytorch.py"), job])
                : new ProcessStartInfo("dotnet", [typeof(TrainingComparison).Assembly.Location, ChildCommand, job]);
            foreach (var a in new[] { threads, repeats, startAt }.Select(v => v.ToString(CultureInfo.InvariantCulture)))
                info.ArgumentList.Add(a);
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;
            return RunChildAsync(info, engine);
        }).ToList();
        return [.. await Task.WhenAll(trainers)];
    }

    private static async Task<TrainerResult> RunChildAsync(ProcessStartInfo info, string engine)
    {
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var text = (await stdout).Trim();
        if (process.ExitCode != 0 || text.Length == 0)
            throw new InvalidOperationException($"footprint: the {engine} trainer exited {process.ExitCode}: {(await stderr).Trim()}");
        using var doc = JsonDocument.Parse(text.Split('\n')[^1]);
        var root = doc.RootElement;
        return new TrainerResult(engine, root.GetProperty("threads").GetInt32(), root.GetProperty("interop_threads").GetInt32(),
            [.. root.GetProperty("epoch_ms").EnumerateArray().Select(e => e.GetDouble())], root.GetProperty("loss").GetDouble());
    }

    /// <summary>
    /// The TorchSharp trainer process: <c>footprint-train JOB_DIR THREADS REPEATS START_AT_UNIX_MS</c> (THREADS 0 = IcosFl's
    /// default). One warm-up training, then REPEATS measured ones from START_AT on; prints what the PyTorch script prints.
    /// </summary>
    public static int RunChild(string[] args)
    {
        if (args.Length != 4 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out var threads)
            || !int.TryParse(args[2], CultureInfo.InvariantCulture, out var repeats) || !long.TryParse(args[3], CultureInfo.InvariantCulture, out var startAt))
        {
            Console.Error.WriteLine($"usage: {ChildCommand} JOB_DIR THREADS REPEATS START_AT_UNIX_MS");
            return 2;
        }
        var (series, _, _, _) = Windows();
        var initial = SafeTensors.Read(File.ReadAllBytes(Path.Combine(args[0], "initial.safetensors"))).Weights;
        // The first model applies IcosFl's process-wide settings (TorchSetup); a thread count asked for here replaces them.
        new LstmForecaster(Config.HiddenLayerSize, Config.NumLayers).Dispose();
        if (threads > 0)
            TorchSharp.torch.set_num_threads(threads);
        LocalTraining.Train(initial, series, Config, Seed);
        while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() < startAt)
            Thread.Sleep(5);
        var results = Enumerable.Range(0, repeats).Select(_ => LocalTraining.Train(initial, series, Config, Seed)).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            threads = TorchSharp.torch.get_num_threads(),
            interop_threads = TorchSharp.torch.get_num_interop_threads(),
            epoch_ms = results.Select(r => r.DurationMs / r.Epochs).ToArray(),
            loss = results[^1].Loss,
        }));
        return 0;
    }
}
