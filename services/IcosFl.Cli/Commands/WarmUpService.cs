using IcosFl.Contracts;
using IcosFl.Infrastructure.Hosting;
using IcosFl.Infrastructure.Weights;
using IcosFl.Learning;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IcosFl.Cli.Commands;

/// <summary>
/// Moves what only the first round paid for off its critical path: once the node's bus is up (the controller serving,
/// the worker's first heartbeat on its way), loads TorchSharp's native libraries and runs the learning code once on a
/// throw-away model of the default run config and synthetic data: one epoch of <see cref="LocalTraining.Train(ModelWeights, FeatureSeries, RunConfig, int, CancellationToken)"/>
/// (a worker only), <see cref="LocalTraining.Evaluate(ModelWeights, FeatureSeries, RunConfig)"/> and a weights encoding
/// round trip, so that their JIT compilation and libtorch's load (about 0.4 s CPU) are done before the first round
/// comes. Its cost is counted in start-up (docs/benchmarks.md, footprint); ICOSFL_WARM_UP=0 turns it off. Nothing it
/// computes is kept or sent; a failure is logged and changes nothing (the first round then pays as before).
/// </summary>
public sealed class WarmUpService(IBusControl bus, bool train, ILogger<WarmUpService> logger) : BackgroundService
{
    public static bool Enabled => Environment.GetEnvironmentVariable("ICOSFL_WARM_UP") is not ("0" or "false");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // After the bus is up, so the warm-up never delays serving or the first heartbeat.
            while (bus.CheckHealth().Status != BusHealthStatus.Healthy)
                await Task.Delay(TimeSpan.FromMilliseconds(50), stoppingToken);
            var elapsed = await Task.Run(() => Run(train), stoppingToken);
            StartupTrace.Mark("warm-up done");
            logger.LogDebug("Warm-up done in {ElapsedMs} ms (TorchSharp loaded, learning code run once)", elapsed);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Warm-up failed; the first round will load TorchSharp itself");
        }
    }

    /// <summary>The warm-up itself: returns its wall-clock milliseconds.</summary>
    public static double Run(bool train)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var config = new RunConfig { LocalEpochs = 1 };
        var series = FeatureSeries.Univariate(config.Metric, SyntheticFleet.Series(config.Metric, 0, 4 * (config.TimeStep + config.ForecastHorizon), 1));
        var weights = LocalTraining.InitialWeights(config);
        if (train)
            weights = LocalTraining.Train(weights, series, config, seed: 1).Weights;
        LocalTraining.Evaluate(weights, series, config);
        WeightCodec.Decode(WeightCodec.Encode(weights));
        return watch.Elapsed.TotalMilliseconds;
    }
}
