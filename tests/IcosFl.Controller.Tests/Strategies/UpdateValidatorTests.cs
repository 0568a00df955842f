using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

public class UpdateValidatorTests
{
    private static readonly ModelWeights Global = new(
    [
        new NamedTensor("linear.weight", [1, 2], [1f, 2f]),
        new NamedTensor("linear.bias", [1], [2f]),
    ]);

    private static ClientUpdate UpdateWith(params NamedTensor[] tensors) => Model.Update("w1", new ModelWeights(tensors), examples: 10);

    private static string? Problem(ClientUpdate update, RunConfig? config = null) =>
        UpdateValidator.FindProblem(Global, update, config ?? RunConfig.Default);

    [Fact]
    public void Should_accept_an_update_shaped_like_the_global_model() =>
        Assert.Null(Problem(UpdateWith(new NamedTensor("linear.weight", [1, 2], [4f, 6f]), new NamedTensor("linear.bias", [1], [2f]))));

    [Fact]
    public void Should_name_a_missing_tensor_by_listing_the_expected_ones() =>
        Assert.Equal(
            "has 1 tensors, the global model has 2 (linear.weight, linear.bias)",
            Problem(UpdateWith(new NamedTensor("linear.weight", [1, 2], [4f, 6f]))));

    [Fact]
    public void Should_refuse_tensors_in_another_order() =>
        Assert.Equal(
            "tensor 0 is 'linear.bias', the global model has 'linear.weight' there",
            Problem(UpdateWith(new NamedTensor("linear.bias", [1], [2f]), new NamedTensor("linear.weight", [1, 2], [4f, 6f]))));

    [Fact]
    public void Should_refuse_another_shape() =>
        Assert.Equal(
            "tensor 'linear.weight' has shape [2, 1], the global model's is [1, 2]",
            Problem(UpdateWith(new NamedTensor("linear.weight", [2, 1], [4f, 6f]), new NamedTensor("linear.bias", [1], [2f]))));

    [Fact]
    public void Should_refuse_data_that_does_not_fill_the_shape() =>
        Assert.Equal(
            "tensor 'linear.weight' holds 3 values, its shape [1, 2] needs 2",
            Problem(UpdateWith(new NamedTensor("linear.weight", [1, 2], [4f, 6f, 8f]), new NamedTensor("linear.bias", [1], [2f]))));

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void Should_name_the_tensor_and_element_of_a_non_finite_value(float value, string shown) =>
        Assert.Equal(
            $"tensor 'linear.weight' holds {shown} at element 1",
            Problem(UpdateWith(new NamedTensor("linear.weight", [1, 2], [4f, value]), new NamedTensor("linear.bias", [1], [2f]))));

    [Fact]
    public void Should_find_a_non_finite_value_deep_in_a_large_tensor()
    {
        var data = new float[100_003];
        data[99_999] = float.NaN;
        var global = new ModelWeights([new NamedTensor("big", [data.Length], new float[data.Length])]);

        var problem = UpdateValidator.FindProblem(global, Model.Update("w", new ModelWeights([new NamedTensor("big", [data.Length], data)])), RunConfig.Default);

        Assert.Equal("tensor 'big' holds NaN at element 99999", problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Should_refuse_an_update_without_examples(int examples) =>
        Assert.Equal(
            $"reports {examples} training examples; an update must be trained on at least one (FedAvg weighs updates by example count)",
            Problem(Model.Update("w1", Global, examples)));

    [Fact]
    public void Should_refuse_a_non_finite_training_loss() =>
        Assert.Equal("reports a non-finite training loss (NaN)", Problem(Model.Update("w1", Global, 5, loss: double.NaN)));

    [Fact]
    public void Should_refuse_an_update_further_than_max_update_norm_and_say_both_numbers()
    {
        // delta = [3, 4, 0], norm 5
        var update = UpdateWith(new NamedTensor("linear.weight", [1, 2], [4f, 6f]), new NamedTensor("linear.bias", [1], [2f]));

        Assert.Equal(
            "update norm 5 (L2 of update - global) exceeds max-update-norm 4.5",
            Problem(update, RunConfig.Default with { MaxUpdateNorm = 4.5 }));
        Assert.Null(Problem(update, RunConfig.Default with { MaxUpdateNorm = 5 }));
        Assert.Null(Problem(update, RunConfig.Default with { MaxUpdateNorm = 0 }));
    }
}
