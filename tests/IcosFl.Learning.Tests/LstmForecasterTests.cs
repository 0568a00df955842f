using IcosFl.Contracts;

namespace IcosFl.Learning.Tests;

public sealed class LstmForecasterTests
{
    [Fact]
    public void Initial_weights_of_one_layer_have_PyTorch_names_and_shapes()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default);

        Assert.Equal(
            [
                ("lstm.weight_ih_l0", "[40, 1]"), ("lstm.weight_hh_l0", "[40, 10]"),
                ("lstm.bias_ih_l0", "[40]"), ("lstm.bias_hh_l0", "[40]"),
                ("linear.weight", "[100, 10]"), ("linear.bias", "[100]"), // the direct head: forecast-horizon 100 steps
            ],
            weights.Tensors.Select(t => (t.Name, LstmLayout.Format(t.Shape))));
        Assert.Equal(40 + 400 + 40 + 40 + 1000 + 100, weights.ParameterCount);
    }

    [Fact]
    public void Initial_weights_of_two_layers_have_PyTorch_names_and_shapes()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default with { NumLayers = 2, HiddenLayerSize = 8 });

        Assert.Equal(
            [
                ("lstm.weight_ih_l0", "[32, 1]"), ("lstm.weight_hh_l0", "[32, 8]"),
                ("lstm.bias_ih_l0", "[32]"), ("lstm.bias_hh_l0", "[32]"),
                ("lstm.weight_ih_l1", "[32, 8]"), ("lstm.weight_hh_l1", "[32, 8]"),
                ("lstm.bias_ih_l1", "[32]"), ("lstm.bias_hh_l1", "[32]"),
                ("linear.weight", "[100, 8]"), ("linear.bias", "[100]"),
            ],
            weights.Tensors.Select(t => (t.Name, LstmLayout.Format(t.Shape))));
    }

    [Fact]
    public void The_TorchSharp_model_holds_the_same_names_and_shapes_as_the_layout()
    {
        using var model = new LstmForecaster(hiddenSize: 8, numLayers: 2);

        var parameters = model.named_parameters().Select(p => (p.name, LstmLayout.Format(p.parameter.shape.Select(d => (int)d).ToArray())));

        Assert.Equal(LstmLayout.Tensors(8, 2).Select(s => (s.Name, LstmLayout.Format(s.Shape))), parameters);
    }

    [Fact]
    public void Initial_weights_follow_PyTorchs_uniform_bound()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default with { HiddenLayerSize = 16 });
        var all = weights.Tensors.SelectMany(t => t.Data).ToArray();

        // U(-1/sqrt(16), 1/sqrt(16)) = U(-0.25, 0.25): inside the bound, and filling it.
        Assert.All(all, v => Assert.InRange(v, -0.25f, 0.25f));
        Assert.True(all.Max() > 0.24f && all.Min() < -0.24f);
        Assert.InRange(all.Average(), -0.02, 0.02);
    }

    [Fact]
    public void Initial_weights_depend_on_the_seed_only()
    {
        var a = LocalTraining.InitialWeights(RunConfig.Default with { Seed = 7 });
        var b = LocalTraining.InitialWeights(RunConfig.Default with { Seed = 7 });
        var c = LocalTraining.InitialWeights(RunConfig.Default with { Seed = 8 });

        Assert.Equal(Flatten(a), Flatten(b));
        Assert.NotEqual(Flatten(a), Flatten(c));
    }

    [Fact]
    public void Weights_round_trip_through_the_model_exactly()
    {
        var config = RunConfig.Default with { NumLayers = 2, Seed = 3 };
        var weights = LocalTraining.InitialWeights(config);
        using var model = LstmForecaster.For(config);

        model.LoadWeights(weights);
        var back = model.GetWeights();

        Assert.Equal(weights.Tensors.Select(t => t.Name), back.Tensors.Select(t => t.Name));
        Assert.Equal(weights.Tensors.Select(t => t.Shape), back.Tensors.Select(t => t.Shape));
        Assert.Equal(Flatten(weights), Flatten(back));
        Assert.Equal(Flatten(weights), Flatten(model.GetWeights())); // reading leaves the model intact
    }

    [Fact]
    public void Weights_of_another_size_are_refused_naming_every_shape()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default with { HiddenLayerSize = 12 });
        using var model = LstmForecaster.For(RunConfig.Default);

        var error = Assert.Throws<IncompatibleWeightsException>(() => model.LoadWeights(weights));

        Assert.Empty(error.Missing);
        Assert.Empty(error.Unexpected);
        Assert.Equal(5, error.Mismatched.Count); // all but linear.bias, which is [forecast-horizon] at any size
        Assert.Contains("lstm.weight_hh_l0 has shape [48, 12], expected [40, 10]", error.Message);
        Assert.Contains("linear.weight has shape [100, 12], expected [100, 10]", error.Message);
        Assert.Contains("LSTM(input_size=1, hidden_size=10, num_layers=1)", error.Message);
    }

    [Fact]
    public void Weights_with_missing_and_unexpected_names_are_refused_naming_them()
    {
        var twoLayers = LocalTraining.InitialWeights(RunConfig.Default with { NumLayers = 2 });
        var withoutBias = twoLayers.Tensors.Where(t => t.Name != "linear.bias").ToList();
        using var model = new LstmForecaster(10, 1);

        var error = Assert.Throws<IncompatibleWeightsException>(() => model.LoadWeights(new ModelWeights(withoutBias)));

        Assert.Equal(["linear.bias"], error.Missing);
        Assert.Equal(["lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1"], error.Unexpected);
        Assert.Contains("missing: linear.bias", error.Message);
        Assert.Contains("unexpected: lstm.weight_ih_l1, lstm.weight_hh_l1", error.Message);
    }

    [Fact]
    public void Weights_whose_data_does_not_fill_their_shape_are_refused()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default);
        var broken = weights.Tensors.Select(t => t.Name == "linear.weight" ? t with { Data = new float[3] } : t).ToList();
        using var model = LstmForecaster.For(RunConfig.Default);

        var error = Assert.Throws<IncompatibleWeightsException>(() => model.LoadWeights(new ModelWeights(broken)));

        Assert.Equal(["linear.weight holds 3 values, its shape [100, 10] needs 1000"], error.Mismatched);
    }

    [Fact]
    public void Training_from_incompatible_weights_is_refused()
    {
        var weights = LocalTraining.InitialWeights(RunConfig.Default with { HiddenLayerSize = 12 });
        var series = SyntheticFleet.Series(Metrics.CpuUsage, 0, 200, 1);

        Assert.Throws<IncompatibleWeightsException>(() => LocalTraining.Train(weights, series, RunConfig.Default, seed: 1));
        Assert.Throws<IncompatibleWeightsException>(() => LocalTraining.Evaluate(weights, series, RunConfig.Default));
    }

    internal static float[] Flatten(ModelWeights weights) => weights.Tensors.SelectMany(t => t.Data).ToArray();
}
