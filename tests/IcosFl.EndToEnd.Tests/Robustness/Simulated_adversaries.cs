using IcosFl.Cli.Simulation;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;

namespace IcosFl.EndToEnd.Tests.Robustness;

/// <summary>What each --adversary kind sends, exactly, and how bad --adversary values are refused.</summary>
public sealed class Simulated_adversaries
{
    private static readonly ModelWeights Global = new([
        new NamedTensor("lstm.weight_ih_l0", [2], [1f, -2f]),
        new NamedTensor("linear.bias", [1], [0.5f]),
    ]);

    private static readonly ModelWeights Trained = new([
        new NamedTensor("lstm.weight_ih_l0", [2], [1.5f, -1f]),
        new NamedTensor("linear.bias", [1], [0.25f]),
    ]);

    private static float[] Flat(ModelWeights w) => w.Tensors.SelectMany(t => t.Data).ToArray();

    [Fact]
    public void Should_scale_the_delta_from_the_global_model()
    {
        var (worker, adversary) = SimulatedAdversary.Parse("worker-5=scale:100");

        Assert.Equal("worker-5", worker);
        // delta = (0.5, 1, -0.25); sent = global + 100 delta
        Assert.Equal([51f, 98f, -24.5f], Flat(adversary.Apply(Global, Trained)));
        Assert.Equal(["lstm.weight_ih_l0", "linear.bias"], adversary.Apply(Global, Trained).Tensors.Select(t => t.Name));
        Assert.Equal("scale:100", adversary.ToString());
    }

    [Fact]
    public void Should_send_global_minus_delta_when_flipping_the_sign()
    {
        var (_, adversary) = SimulatedAdversary.Parse("worker-2=sign-flip");

        Assert.Equal([0.5f, -3f, 0.75f], Flat(adversary.Apply(Global, Trained)));
        Assert.Equal("sign-flip", adversary.ToString());
    }

    [Fact]
    public void Should_boost_a_flipped_delta_by_its_factor()
    {
        var (_, adversary) = SimulatedAdversary.Parse("worker-5=sign-flip:4");

        Assert.Equal([-1f, -6f, 1.5f], Flat(adversary.Apply(Global, Trained)));
        Assert.Equal("sign-flip:4", adversary.ToString());
    }

    [Fact]
    public void Should_send_nan_in_every_weight_and_leave_the_inputs_alone()
    {
        var (_, adversary) = SimulatedAdversary.Parse("worker-1=nan");

        var sent = adversary.Apply(Global, Trained);

        Assert.All(Flat(sent), v => Assert.True(float.IsNaN(v)));
        Assert.Equal([1.5f, -1f, 0.25f], Flat(Trained));
        Assert.Equal("nan", adversary.ToString());
    }

    [Fact]
    public void Should_get_nan_onto_the_wire_only_through_the_unchecked_encoding()
    {
        var nan = new SimulatedAdversary(AdversaryKind.NaN).Apply(Global, Trained);

        var strict = Assert.Throws<WeightPayloadException>(() => WeightCodec.Encode(nan));
        Assert.Contains("'lstm.weight_ih_l0'", strict.Message);
        // The receiver's decoder still refuses it, naming the tensor: that is what the controller reports.
        var refused = Assert.Throws<WeightPayloadException>(() => WeightCodec.Decode(WeightCodec.EncodeUnchecked(nan)));
        Assert.Equal("tensor 0 'lstm.weight_ih_l0': element 0 is NaN; weights must be finite", refused.Message);
        // For finite weights both encodings are the same bytes.
        Assert.Equal(WeightCodec.Encode(Trained), WeightCodec.EncodeUnchecked(Trained));
    }

    [Theory]
    [InlineData("worker-5", "expected worker-N=KIND")]
    [InlineData("node-5=nan", "'node-5' is not a simulated worker id")]
    [InlineData("worker-0=nan", "'worker-0' is not a simulated worker id")]
    [InlineData("worker-5=scale:", "scale factor '' is not a finite number")]
    [InlineData("worker-5=scale:inf", "scale factor 'inf' is not a finite number")]
    [InlineData("worker-5=sign-flip:0", "sign-flip factor '0' is not a finite number > 0")]
    [InlineData("worker-5=flip", "unknown kind 'flip'")]
    public void Should_refuse_a_malformed_value_quoting_it(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => SimulatedAdversary.Parse(text));

        Assert.Contains($"--adversary '{text}'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Should_refuse_an_adversary_for_a_worker_that_does_not_exist()
    {
        var options = new SimulationOptions
        {
            Workers = 3,
            Adversaries = new Dictionary<string, SimulatedAdversary> { ["worker-4"] = new(AdversaryKind.SignFlip) },
        };

        Assert.Equal("--adversary worker-4=sign-flip: no such worker; the simulated workers are worker-1..worker-3", options.FindProblem());
    }

    [Fact]
    public void Should_refuse_a_strategy_missing_its_keys_before_starting()
    {
        var options = new SimulationOptions { RunConfig = RunConfig.Default with { Strategy = Strategies.MultiKrum } };

        Assert.Contains("num-clients-to-keep", options.FindProblem());
    }
}
