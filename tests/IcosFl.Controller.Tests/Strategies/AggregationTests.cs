using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

public class AggregationTests
{
    [Fact]
    public void Should_weight_the_average_by_the_weights_given()
    {
        var output = new float[3];
        Aggregation.WeightedAverage([[1f, 2f, 3f], [3f, 6f, 9f]], Aggregation.NormalisedFactors([1, 3], 2), output);

        Assert.Equal([2.5f, 5f, 7.5f], output); // 0.25·x + 0.75·y
    }

    [Fact]
    public void Should_average_every_tensor_of_a_model_and_keep_names_and_shapes()
    {
        var a = new ModelWeights([new NamedTensor("w", [2, 1], [2f, 4f]), new NamedTensor("b", [1], [8f])]);
        var b = new ModelWeights([new NamedTensor("w", [2, 1], [6f, 0f]), new NamedTensor("b", [1], [0f])]);

        var average = Aggregation.WeightedAverage([a, b], [1, 1]);

        Assert.Equal(["w", "b"], average.Tensors.Select(t => t.Name));
        Assert.Equal([2, 1], average.Tensors[0].Shape);
        Assert.Equal([4f, 2f], average.Tensors[0].Data);
        Assert.Equal([4f], average.Tensors[1].Data);
        Assert.Equal([2f, 4f], a.Tensors[0].Data); // inputs untouched
    }

    [Fact]
    public void Should_round_like_numpy_float32_in_the_weighted_average()
    {
        // Flower: out = x0·w0; out += x1·w1 in float32, each weight rounded to float32 first.
        var factors = Aggregation.NormalisedFactors([1, 2], 2);
        var output = new float[1];
        Aggregation.WeightedAverage([[0.1f], [0.7f]], factors, output);

        var expected = (0.1f * (float)(1.0 / 3.0)) + (0.7f * (float)(2.0 / 3.0));
        Assert.Equal(expected, output[0]);
    }

    [Fact]
    public void Should_refuse_weights_that_sum_to_zero_or_do_not_match()
    {
        Assert.Contains("sum to zero", Assert.Throws<ArgumentException>(() => Aggregation.NormalisedFactors([0, 0], 2)).Message);
        Assert.Contains("3 weights given for 2 models", Assert.Throws<ArgumentException>(() => Aggregation.NormalisedFactors([1, 1, 1], 2)).Message);
        Assert.Contains("Input 1 holds 2 values, the destination 3",
            Assert.Throws<ArgumentException>(() => Aggregation.WeightedAverage([[1f, 1f, 1f], [1f, 1f]], [0.5f, 0.5f], new float[3])).Message);
    }

    [Fact]
    public void Should_take_the_middle_value_or_the_mean_of_the_two_middle_values_as_median()
    {
        var odd = new float[2];
        Aggregation.Median([[1f, 10f], [2f, -5f], [100f, 0f]], odd);
        Assert.Equal([2f, 0f], odd);

        var even = new float[2];
        Aggregation.Median([[1f, 10f], [2f, -5f], [100f, 0f], [4f, 3f]], even);
        Assert.Equal([3f, 1.5f], even); // (2 + 4)/2, (0 + 3)/2
    }

    [Fact]
    public void Should_cut_int_of_beta_times_n_from_each_end_for_the_trimmed_mean()
    {
        var five = new float[2];
        Aggregation.TrimmedMean([[1f, -50f], [2f, 0f], [3f, 1f], [4f, 2f], [1000f, 3f]], 0.2, five);
        Assert.Equal([3f, 1f], five); // int(0.2·5) = 1: mean(2, 3, 4), mean(0, 1, 2)

        var four = new float[1];
        Aggregation.TrimmedMean([[1f], [2f], [3f], [1000f]], 0.2, four);
        Assert.Equal([251.5f], four); // int(0.8) = 0: nothing cut, plain mean
    }

    [Fact]
    public void Should_refuse_a_trim_proportion_of_one_half_or_more()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Aggregation.TrimmedMean([[1f], [2f]], 0.5, new float[1]));
        Assert.Contains("[0, 0.5)", error.Message);
    }

    [Fact]
    public void Should_score_krum_as_the_sum_of_squared_distances_to_the_n_minus_f_minus_2_closest()
    {
        var models = new[] { Model.Single(0f), Model.Single(1f), Model.Single(2.5f), Model.Single(10f) };

        // f = 0 → 2 closest. Squared distances: 0-1 1, 0-2.5 6.25, 0-10 100, 1-2.5 2.25, 1-10 81, 2.5-10 56.25
        Assert.Equal([7.25, 3.25, 8.5, 137.25], Aggregation.KrumScores(models, numMalicious: 0));
        // f = 1 → 1 closest
        Assert.Equal([1, 1, 2.25, 56.25], Aggregation.KrumScores(models, numMalicious: 1));
        // f = 5 → max(1, n - f - 2) = 1 closest
        Assert.Equal([1, 1, 2.25, 56.25], Aggregation.KrumScores(models, numMalicious: 5));
        Assert.Equal([1, 0], Aggregation.LowestScores([7.25, 3.25, 8.5, 137.25], 2));
        Assert.Equal([0, 1], Aggregation.LowestScores([1, 1, 2.25, 56.25], 2)); // ties: lower index first
    }

    [Fact]
    public void Should_measure_squared_distances_over_all_tensors()
    {
        var a = Model.Of([1f, 2f], [3f]);
        var b = Model.Of([4f, 6f], [3f]);

        Assert.Equal(25.0, Aggregation.SquaredDistance(a, b));
        var matrix = Aggregation.SquaredDistances([a, b, a]);
        Assert.Equal(25.0, matrix[0, 1]);
        Assert.Equal(25.0, matrix[2, 1]);
        Assert.Equal(0.0, matrix[0, 2]);
        Assert.Equal(0.0, matrix[1, 1]);
    }

    [Fact]
    public void Should_compute_l2_norms_of_spans_models_and_deltas()
    {
        Assert.Equal(5.0, Aggregation.L2Norm([3f, 4f]));
        Assert.Equal(3.0, Aggregation.L2Norm(Model.Of([1f, 2f], [2f])));
        Assert.Equal(5.0, Aggregation.DeltaNorm(Model.Of([4f, 6f], [2f]), Model.Of([1f, 2f], [2f])));
    }

    [Fact]
    public void Should_keep_long_sums_of_squares_accurate()
    {
        // 3 million values of 0.1f: a single float accumulator drifts far; the blocked double sum does not.
        var values = Enumerable.Repeat(0.1f, 3_000_000).ToArray();
        var exact = 3_000_000 * (double)0.1f * 0.1f;

        Assert.Equal(exact, Aggregation.SumOfSquares(values), exact * 1e-6);
    }

    [Fact]
    public void Should_clip_a_delta_to_the_clipping_norm_and_leave_smaller_ones_alone()
    {
        var global = Model.Of([1f, 2f], [2f]);
        var update = Model.Of([4f, 6f], [2f]); // delta [3, 4, 0], norm 5

        var clipped = Aggregation.ClipDelta(update, global, clipNorm: 2.5, out var norm);
        Assert.Equal(5.0, norm);
        Assert.Equal([2.5f, 4f, 2f], Model.Flat(clipped)); // global + 0.5·delta
        Assert.Equal(2.5, Aggregation.DeltaNorm(clipped, global));

        var untouched = Aggregation.ClipDelta(update, global, clipNorm: 10, out _);
        Assert.Equal([4f, 6f, 2f], Model.Flat(untouched));
        Assert.Equal([4f, 6f], update.Tensors[0].Data);
    }

    [Fact]
    public void Should_clip_in_place_and_report_the_norm_before()
    {
        float[] values = [6f, 8f];
        Assert.Equal(10.0, Aggregation.ClipInPlace(values, 5));
        Assert.Equal([3f, 4f], values);
        Assert.Equal(1.0, Aggregation.ClipFactor(0, 1)); // a zero delta stays zero
        Assert.Throws<ArgumentOutOfRangeException>(() => Aggregation.ClipFactor(1, 0));
    }

    [Fact]
    public void Should_mean_scalars_by_weight()
    {
        Assert.Equal(2.5, Aggregation.WeightedMean([1.0, 3.0], [1, 3]));
    }
}
