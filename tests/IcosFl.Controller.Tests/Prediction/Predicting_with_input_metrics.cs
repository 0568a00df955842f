using IcosFl.Contracts;
using IcosFl.Controller.Checkpoints;
using IcosFl.Controller.Prediction;
using IcosFl.Controller.Tests.Checkpoints;
using IcosFl.Learning;
using IcosFl.Learning.Prediction;

namespace IcosFl.Controller.Tests.Prediction;

/// <summary>The one prediction path of `icosfl predict` and GET /api/predictions, for a model that reads input metrics.</summary>
public sealed class Predicting_with_input_metrics
{
    private const long Start = 1_790_000_000_000;
    private readonly Checkpoint _model = MultivariateModelTests.Sample(Guid.NewGuid());

    private static (IReadOnlyList<long>, IReadOnlyList<float>) Points(int count, Func<int, float> value, int skipEvery = 0) =>
        (Enumerable.Range(0, count).Where(i => skipEvery == 0 || i % skipEvery != 0).Select(i => Start + i * 3000L).ToArray(),
         Enumerable.Range(0, count).Where(i => skipEvery == 0 || i % skipEvery != 0).Select(value).ToArray());

    private static (IReadOnlyList<long>, IReadOnlyList<float>) Node(string metric) => metric switch
    {
        Metrics.CpuUsage => Points(120, i => 1 + MathF.Sin(i / 7f)),
        // Memory misses every 10th sample: alignment keeps only the common timestamps.
        Metrics.MemoryUsage => Points(120, i => 2000 + 10 * i, skipEvery: 10),
        Metrics.PowerConsumption => Points(120, i => 40 + i % 13),
        _ => ([], []),
    };

    [Fact]
    public void Reads_every_input_aligned_by_time_and_forecasts_as_the_forecaster_does()
    {
        var document = NodePrediction.Predict(_model, "m", "edge-1", Node, null, 6, null);

        var inputs = _model.RunConfig.InputFeatures();
        var series = FeatureSeries.AlignByTime(inputs, inputs.Select(Node).ToList());
        var expected = Forecaster.ForecastAt(ForecastModel.From(_model.Weights, _model.RunConfig),
            Forecaster.NodeScalers(series, _model.RunConfig.TrainTestSplit), series, 6);
        Assert.Equal(108, series.Count);
        Assert.Equal([Metrics.CpuUsage, Metrics.MemoryUsage, Metrics.PowerConsumption], document.Inputs);
        Assert.Equal(expected.Points, document.Points);
        Assert.Equal(expected.Scalers.Select(s => (s.Min, s.Max)), document.Scalers.Select(s => (s.Min, s.Max)));
        Assert.Equal(inputs, document.Scalers.Select(s => s.Metric));
    }

    [Fact]
    public void Uses_the_saved_scaler_of_every_input_when_asked()
    {
        var document = NodePrediction.Predict(_model, "m", "edge-1", Node, null, 3, PredictionScalers.Model);

        Assert.Equal([(0.5f, 4.5f), (1024f, 4096f), (20f, 95.5f)], document.Scalers.Select(s => (s.Min, s.Max)));
    }

    [Fact]
    public void Refuses_a_node_without_an_input_metric_naming_it()
    {
        var e = Assert.Throws<PredictionException>(() => NodePrediction.Predict(_model, "m", "edge-1",
            m => m == Metrics.PowerConsumption ? ([], []) : Node(m), null, 3, null));

        Assert.Equal("node", e.Parameter);
        Assert.True(e.NotFound);
        Assert.Contains("holds no power_consumption points", e.Message);
    }

    [Fact]
    public void Refuses_inputs_that_were_never_sampled_together()
    {
        var e = Assert.Throws<PredictionException>(() => NodePrediction.Predict(_model, "m", "edge-1",
            m => m == Metrics.MemoryUsage ? ([Start + 1], [1f]) : Node(m), null, 3, null));

        Assert.Equal("node", e.Parameter);
        Assert.Contains("cannot be aligned", e.Message);
    }
}
