using IcosFl.Contracts;
using IcosFl.Learning.Prediction;

namespace IcosFl.Learning.Tests.Prediction;

public sealed class ForecasterTests
{
    [Fact]
    public void A_model_whose_change_is_a_constant_adds_it_at_each_3_s_step_after_the_last_point()
    {
        // Every weight 0 and linear.bias 0.25: each step is the previous one + 0.25 (scaled) = + 10 in units.
        var model = new ForecastModel(Constant(0.25f), 4, 1, TimeStep: 3);
        var scaler = new MinMaxScaler(10f, 50f);
        long[] times = [1_000_000, 1_003_000, 1_006_000, 1_009_000];
        float[] values = [12f, 30f, 44f, 20f];

        var forecast = Forecaster.ForecastAt(model, scaler, times, values, horizon: 3);

        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_009_000), forecast.Origin);
        Assert.Equal(20.0, forecast.LastValue);
        Assert.Equal([1, 2, 3], forecast.Points.Select(p => p.Step));
        Assert.Equal([1_012_000L, 1_015_000L, 1_018_000L], forecast.Points.Select(p => p.Time.ToUnixTimeMilliseconds()));
        Assert.Equal([30.0, 40.0, 50.0], forecast.Points.Select(p => Math.Round(p.Value, 4)));
    }

    [Fact]
    public void Matches_the_recursive_multi_step_forecast_of_the_same_model_on_the_last_window()
    {
        var config = RunConfig.Default with { HiddenLayerSize = 6, TimeStep = 5, Seed = 11 };
        var weights = LocalTraining.InitialWeights(config);
        var series = Enumerable.Range(0, 40).Select(i => (float)(3 + Math.Sin(i / 3.0))).ToArray();
        var scaler = Forecaster.NodeScaler(series, config.TrainTestSplit);

        var forecast = Forecaster.Forecast(ForecastModel.From(weights, config), scaler, series, 4);

        using var lstm = LstmForecaster.For(config);
        lstm.LoadWeights(weights);
        var expected = MultiStepForecast.Recursive(lstm, scaler.Transform(series.AsSpan(35, 5)), 1, 5, 4).Select(scaler.Inverse);
        Assert.Equal(expected, forecast);
    }

    [Fact]
    public void The_node_scaler_is_fitted_on_the_training_split_only()
    {
        float[] series = [5, 1, 9, 3, 100, -100, 4, 2, 7, 8];

        var scaler = Forecaster.NodeScaler(series, 0.4); // first 4 points

        Assert.Equal(new MinMaxScaler(1f, 9f), scaler);
    }

    [Fact]
    public void Refuses_too_short_a_series_wrong_weights_and_a_zero_horizon_with_reasons()
    {
        var model = new ForecastModel(Constant(0f), 4, 1, TimeStep: 5);
        var scaler = new MinMaxScaler(0, 1);

        Assert.Contains("holds 3 points but 5 are needed",
            Assert.Throws<InsufficientDataException>(() => Forecaster.Forecast(model, scaler, [1f, 2f, 3f], 2)).Message);
        Assert.Contains("horizon must be at least 1",
            Assert.Throws<ArgumentOutOfRangeException>(() => Forecaster.Forecast(model, scaler, new float[5], 0)).Message);
        var wrong = model with { HiddenSize = 8 };
        Assert.Contains("lstm.weight_hh_l0", Assert.Throws<IncompatibleWeightsException>(() => Forecaster.Forecast(wrong, scaler, new float[5], 1)).Message);
    }

    private static ModelWeights Constant(float bias) => new(LstmLayout.Tensors(4, 1)
        .Select(s => new NamedTensor(s.Name, s.Shape, s.Name == "linear.bias" ? [bias] : new float[s.ElementCount]))
        .ToList());
}
