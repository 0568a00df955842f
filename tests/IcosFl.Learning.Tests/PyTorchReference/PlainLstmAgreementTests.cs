using IcosFl.Contracts;

namespace IcosFl.Learning.Tests.PyTorchReference;

/// <summary>
/// The forecasts every evaluation and prediction makes (<see cref="MultiStepForecast.Recursive"/>, without autograd)
/// against an LSTM written out in doubles from the same weights (PyTorch's equations, gates i, f, g, o). On the
/// AVX-512 build machines libtorch's oneDNN kernel broke this until <see cref="OneDnnIsa"/> capped it at AVX2
/// (rerun with ONEDNN_MAX_CPU_ISA=AVX512_CORE to see it fail).
/// </summary>
public sealed class PlainLstmAgreementTests
{
    [Theory]
    [InlineData(10, 1, 10, 1)]
    [InlineData(10, 1, 10, 7)]
    [InlineData(8, 2, 6, 3)]
    [InlineData(32, 1, 30, 4)]
    public void Should_forecast_what_the_LSTM_equations_give(int hidden, int layers, int timeStep, int count)
    {
        var config = RunConfig.Default with { HiddenLayerSize = hidden, NumLayers = layers, TimeStep = timeStep, Seed = 11 };
        var weights = LocalTraining.InitialWeights(config);
        var windows = Enumerable.Range(0, count * timeStep).Select(i => (float)(0.5 + 0.4 * Math.Sin(0.7 * i))).ToArray();
        using var model = LstmForecaster.For(config);
        model.LoadWeights(weights);

        var forecasts = MultiStepForecast.Recursive(model, windows, count, timeStep, 1);

        for (int w = 0; w < count; w++)
        {
            var expected = PlainLstm(weights, hidden, layers, windows.AsSpan(w * timeStep, timeStep).ToArray());
            Assert.True(Math.Abs(expected - forecasts[w]) < 1e-5,
                $"window {w}: the model forecasts {forecasts[w]:R}, the LSTM equations give {expected:R} " +
                $"(hidden {hidden}, layers {layers}, time-step {timeStep}; ONEDNN_MAX_CPU_ISA={Environment.GetEnvironmentVariable(OneDnnIsa.Variable)})");
        }
    }

    private static double PlainLstm(ModelWeights weights, int hidden, int layers, float[] window)
    {
        double[][] inputs = window.Select(v => new[] { (double)v }).ToArray();
        for (int l = 0; l < layers; l++)
        {
            var wih = weights[$"lstm.weight_ih_l{l}"]!.Data;
            var whh = weights[$"lstm.weight_hh_l{l}"]!.Data;
            var bih = weights[$"lstm.bias_ih_l{l}"]!.Data;
            var bhh = weights[$"lstm.bias_hh_l{l}"]!.Data;
            int inputSize = inputs[0].Length;
            var h = new double[hidden];
            var c = new double[hidden];
            var outputs = new double[inputs.Length][];
            for (int t = 0; t < inputs.Length; t++)
            {
                var gates = new double[4 * hidden];
                for (int r = 0; r < 4 * hidden; r++)
                {
                    double sum = bih[r] + bhh[r];
                    for (int k = 0; k < inputSize; k++) sum += wih[r * inputSize + k] * inputs[t][k];
                    for (int k = 0; k < hidden; k++) sum += whh[r * hidden + k] * h[k];
                    gates[r] = sum;
                }

                for (int j = 0; j < hidden; j++)
                {
                    double i = Sigmoid(gates[j]), f = Sigmoid(gates[hidden + j]), g = Math.Tanh(gates[2 * hidden + j]), o = Sigmoid(gates[3 * hidden + j]);
                    c[j] = f * c[j] + i * g;
                    h[j] = o * Math.Tanh(c[j]);
                }

                outputs[t] = (double[])h.Clone();
            }

            inputs = outputs;
        }

        // Step 1 of the direct head: linear.weight's first row and linear.bias[0], plus the window's last value (the residual).
        var linear = weights["linear.weight"]!.Data;
        double y = weights["linear.bias"]!.Data[0];
        for (int k = 0; k < hidden; k++) y += linear[k] * inputs[^1][k];
        return y + window[^1];
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
