using IcosFl.Contracts;

namespace IcosFl.Learning.Tests;

public sealed class SeriesPreparationTests
{
    [Theory]
    [InlineData(10, 0.8, 8)]
    [InlineData(2000, 0.8, 1600)]
    [InlineData(55, 0.8, 44)]
    [InlineData(100, 0.29, 29)] // 100 x 0.29 is 28.999999999999996 in binary floating point
    [InlineData(7, 0.5, 3)]
    public void The_split_keeps_the_first_fraction_for_training(int length, double fraction, int trainCount)
    {
        Assert.Equal(trainCount, ChronologicalSplit.TrainCount(length, fraction));
    }

    [Fact]
    public void The_split_is_chronological()
    {
        float[] series = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

        var split = ChronologicalSplit.Split(series, 0.8);

        Assert.Equal([0f, 1, 2, 3, 4, 5, 6, 7], split.Train);
        Assert.Equal([8f, 9], split.Test);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    public void A_split_fraction_outside_zero_to_one_is_refused(double fraction)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ChronologicalSplit.TrainCount(10, fraction));
        Assert.Contains("train-test-split", error.Message);
    }

    [Fact]
    public void The_scaler_maps_the_fitted_range_to_zero_one_and_back()
    {
        var scaler = MinMaxScaler.Fit([2f, 6f, 4f]);

        Assert.Equal(new MinMaxScaler(2f, 6f), scaler);
        Assert.Equal(0f, scaler.Transform(2f));
        Assert.Equal(0.5f, scaler.Transform(4f));
        Assert.Equal(1f, scaler.Transform(6f));
        Assert.Equal(2f, scaler.Transform(10f)); // outside the fitted range maps outside [0, 1]
        Assert.Equal(5f, scaler.Inverse(0.75f));
        Assert.Equal([0f, 0.25f, 1f], scaler.Transform([2f, 3f, 6f]));
    }

    [Fact]
    public void A_constant_series_scales_without_dividing_by_zero()
    {
        var scaler = MinMaxScaler.Fit([5f, 5f, 5f]);

        Assert.Equal(1f, scaler.Range);
        Assert.Equal(0f, scaler.Transform(5f));
        Assert.Equal(2f, scaler.Transform(7f));
        Assert.Equal(5f, scaler.Inverse(0f));
    }

    [Fact]
    public void The_scaler_refuses_empty_and_non_finite_input()
    {
        Assert.Throws<ArgumentException>(() => MinMaxScaler.Fit([]));
        var error = Assert.Throws<ArgumentException>(() => MinMaxScaler.Fit([1f, float.NaN]));
        Assert.Contains("value 1 is NaN", error.Message);
    }

    [Fact]
    public void Windows_take_time_step_values_and_predict_the_next()
    {
        float[] series = [10, 11, 12, 13, 14, 15, 16];

        var windows = SlidingWindows.Build(series, timeStep: 3);

        Assert.Equal(4, windows.Count);
        Assert.Equal([10f, 11, 12, 11, 12, 13, 12, 13, 14, 13, 14, 15], windows.Inputs);
        Assert.Equal([13f, 14, 15, 16], windows.Targets);
        Assert.Equal(12f, windows.LastInput(0));
        Assert.Equal(15f, windows.LastInput(3));
    }

    [Theory]
    [InlineData(3, 3, 0)]
    [InlineData(2, 3, 0)]
    [InlineData(4, 3, 1)]
    [InlineData(1600, 10, 1590)]
    public void Window_count_is_length_minus_time_step(int length, int timeStep, int count)
    {
        Assert.Equal(count, SlidingWindows.Count(length, timeStep));
        Assert.Equal(count, SlidingWindows.Build(new float[length], timeStep).Count);
    }

    [Fact]
    public void The_scaler_is_fitted_on_the_training_part_only()
    {
        // Training part 0..79 within [0, 79]; the test part holds values far outside it.
        var series = Enumerable.Range(0, 100).Select(i => i < 80 ? (float)i : 1000f + i).ToArray();

        var prepared = PreparedSeries.Prepare(series, RunConfig.Default);

        Assert.Equal(new MinMaxScaler(0f, 79f), prepared.Scaler);
        Assert.Equal(80 - 10, prepared.Train.Count);
        Assert.Equal(20 - 10, prepared.Test.Count);
        Assert.Equal(1090f, prepared.TestInUnits.Targets[0]);
        Assert.Equal((1090f - 0f) / 79f, prepared.Test.Targets[0]);
    }

    [Fact]
    public void The_default_config_needs_51_points()
    {
        // 11 points (time-step 10 + 1 target) on each side; floor(51 x 0.8) = 40 leaves exactly 11 to test
        // (50 would leave 10).
        Assert.Equal(51, LocalTraining.MinimumPoints(RunConfig.Default));
        Assert.Equal(22, LocalTraining.MinimumPoints(RunConfig.Default with { TrainTestSplit = 0.5 }));
        Assert.Equal(8, LocalTraining.MinimumPoints(RunConfig.Default with { TimeStep = 3, TrainTestSplit = 0.5 }));
    }

    [Fact]
    public void A_short_series_says_how_many_points_it_holds_and_needs()
    {
        var series = new float[50];

        var error = Assert.Throws<InsufficientDataException>(() => PreparedSeries.Prepare(series, RunConfig.Default));

        Assert.Equal(50, error.Held);
        Assert.Equal(51, error.Needed);
        Assert.StartsWith("The series holds 50 points but 51 are needed", error.Message);
    }

    [Fact]
    public void A_non_finite_value_is_named_by_its_index()
    {
        var series = new float[100];
        series[42] = float.PositiveInfinity;

        var error = Assert.Throws<ArgumentException>(() => PreparedSeries.Prepare(series, RunConfig.Default));

        Assert.Contains("at index 42", error.Message);
    }
}
