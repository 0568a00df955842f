using IcosFl.Contracts;
using static TorchSharp.torch;

namespace IcosFl.Learning.Tests.PyTorchReference;

/// <summary>
/// The same model, weights, batch and optimiser as lstm_reference.py, compared with the numbers PyTorch
/// 1.13.1 printed (Debian 12 python3-torch). Guards the tensor layout (gate order, state_dict names), the
/// last-step readout and the Adam settings against silent drift. lstm_reference.py prints the linear layer's output;
/// IcosFl's forward adds the window's last value to it (the residual), so the test adds that value to the outputs
/// and to the targets (the loss, and so every gradient, is then the reference's).
/// </summary>
public sealed class PyTorchParityTests
{
    private const int Hidden = 4;
    private const int Layers = 2;
    private const float Tolerance = 2e-6f;

    [Fact]
    public void Forward_pass_matches_PyTorch()
    {
        using var model = ReferenceModel();
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        var output = model.forward(ReferenceInputs()).data<float>().ToArray();

        AssertClose(Plus([-0.0803465f, -0.0802259f, -0.0801323f], LastInputs), output);
    }

    [Fact]
    public void Three_Adam_steps_match_PyTorch()
    {
        using var model = ReferenceModel();
        model.train();
        using var optimizer = LocalTraining.Optimizer(model.parameters(), 0.01);
        var losses = new float[3];
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = nn.functional.mse_loss(model.forward(ReferenceInputs()), tensor(Plus([0.2f, 0.5f, 0.8f], LastInputs), [3, 1]));
            loss.backward();
            optimizer.Step();
            losses[step] = loss.item<float>();
        }

        AssertClose([0.3966297f, 0.3396404f, 0.2879409f], losses);
        var weights = model.GetWeights();
        AssertClose([-0.4438649f, -0.5172666f, -0.5248352f, -0.4055417f], weights["linear.weight"]!.Data);
        AssertClose([0.1895014f, 0.0073644f, -0.1716529f, -0.3831250f], weights["lstm.bias_hh_l1"]!.Data[..4]);
    }

    // The last value of each reference input window (t = 4): 0.1 x ((b + 1) x 6 % 7).
    private static readonly float[] LastInputs = [0.6f, 0.5f, 0.4f];

    private static float[] Plus(float[] a, float[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    private static LstmForecaster ReferenceModel()
    {
        // Tensor k, element i: 0.5 sin(0.37 i + 1.3 k), as in lstm_reference.py.
        var tensors = LstmLayout.Tensors(Hidden, Layers)
            .Select((spec, k) => new NamedTensor(spec.Name, spec.Shape,
                Enumerable.Range(0, spec.ElementCount).Select(i => (float)(0.5 * Math.Sin(0.37 * i + 1.3 * k))).ToArray()))
            .ToList();
        var model = new LstmForecaster(Hidden, Layers);
        model.LoadWeights(new ModelWeights(tensors));
        return model;
    }

    private static Tensor ReferenceInputs()
    {
        const int batch = 3, steps = 5;
        var values = new float[batch * steps];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < steps; t++)
            {
                values[b * steps + t] = (float)(0.1 * ((b + 1) * (t + 2) % 7));
            }
        }

        return tensor(values, [batch, steps, 1]);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
