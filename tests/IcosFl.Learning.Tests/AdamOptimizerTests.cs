using IcosFl.Contracts;
using TorchSharp;
using static TorchSharp.torch;

namespace IcosFl.Learning.Tests;

/// <summary>
/// IcosFl's own Adam step (held Scalars) against TorchSharp's optim.Adam, the implementation it replaces: the same
/// model trained side by side must stay equal step after step. PyTorchParityTests pins the first three steps to
/// PyTorch's own numbers; this pins the bias corrections over many steps.
/// </summary>
public sealed class AdamOptimizerTests
{
    [Fact]
    public void Sixty_steps_stay_equal_to_TorchSharps_Adam()
    {
        var config = RunConfig.Default with { HiddenLayerSize = 8, NumLayers = 2, TimeStep = 6, ForecastHorizon = 1 };
        using var ours = LstmForecaster.For(config);
        using var theirs = LstmForecaster.For(config);
        var start = ours.GetWeights();
        theirs.LoadWeights(start);
        using var ourOptimizer = LocalTraining.Optimizer(ours.parameters(), 0.01);
        using var theirOptimizer = optim.Adam(theirs.parameters(), 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8);
        var random = new Random(7);

        for (var step = 0; step < 60; step++)
        {
            using var scope = NewDisposeScope();
            var inputs = tensor(Enumerable.Range(0, 4 * 6).Select(_ => (float)random.NextDouble()).ToArray(), [4, 6, 1]);
            var targets = tensor(Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble()).ToArray(), [4, 1]);

            ourOptimizer.ZeroGrad();
            nn.functional.mse_loss(ours.forward(inputs), targets).backward();
            ourOptimizer.Step();

            theirOptimizer.zero_grad();
            nn.functional.mse_loss(theirs.forward(inputs), targets).backward();
            theirOptimizer.step();
        }

        Assert.Equal(60, ourOptimizer.Steps);
        var (trained, reference) = (ours.GetWeights(), theirs.GetWeights());
        var moved = 0.0;
        foreach (var tensor in trained.Tensors)
        {
            var expected = reference[tensor.Name]!.Data;
            var initial = start[tensor.Name]!.Data;
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - tensor.Data[i]) <= 1e-5f,
                    $"{tensor.Name}[{i}]: TorchSharp's Adam gives {expected[i]}, ours {tensor.Data[i]}");
                moved = Math.Max(moved, Math.Abs(tensor.Data[i] - initial[i]));
            }
        }

        Assert.True(moved > 0.05, $"60 steps at lr 0.01 should move some weight by more than 0.05; the largest move was {moved}");
    }

    [Fact]
    public void A_parameter_without_a_gradient_is_left_alone()
    {
        using var used = nn.Parameter(tensor(new[] { 1f, 2f }));
        using var unused = nn.Parameter(tensor(new[] { 3f, 4f }));
        using var optimizer = new AdamOptimizer([used, unused], 0.1);

        using (var scope = NewDisposeScope())
        {
            optimizer.ZeroGrad();
            (used * used).sum().backward();
            optimizer.Step();
        }

        // The first Adam step moves each element by lr against its gradient's sign (m / √v = ±1 after bias correction).
        Assert.Equal([0.9f, 1.9f], used.data<float>().ToArray(), new FloatTolerance(1e-5f));
        Assert.Equal([3f, 4f], unused.data<float>().ToArray());
    }

    [Theory]
    [InlineData(0.0, 0.9, 0.999, 1e-8, "learningRate")]
    [InlineData(double.NaN, 0.9, 0.999, 1e-8, "learningRate")]
    [InlineData(0.01, 1.0, 0.999, 1e-8, "beta1")]
    [InlineData(0.01, 0.9, -0.1, 1e-8, "beta2")]
    [InlineData(0.01, 0.9, 0.999, -1.0, "epsilon")]
    public void Invalid_settings_are_refused_by_name(double learningRate, double beta1, double beta2, double epsilon, string name)
    {
        using var parameter = nn.Parameter(tensor(new[] { 1f }));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new AdamOptimizer([parameter], learningRate, beta1, beta2, epsilon));
        Assert.Equal(name, error.ParamName);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
