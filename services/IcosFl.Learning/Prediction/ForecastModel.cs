using IcosFl.Contracts;

namespace IcosFl.Learning.Prediction;

/// <summary>
/// A trained forecaster ready to predict: its weights, the architecture they fit
/// (torch.nn.LSTM(inputs, hidden, layers, batch_first=True) + torch.nn.Linear(hidden, outputs)), and the window length it was trained on.
/// </summary>
public sealed record ForecastModel(ModelWeights Weights, int HiddenSize, int NumLayers, int TimeStep)
{
    /// <summary>
    /// The metrics the model reads at each time step, the forecast metric first; empty for a univariate model
    /// built without a config (its one input is whatever series it is given).
    /// </summary>
    public IReadOnlyList<string> InputFeatures { get; init; } = [];

    /// <summary>Values per time step: 1 for a univariate model.</summary>
    public int InputSize => Math.Max(1, InputFeatures.Count);

    /// <summary>Steps ahead the direct head forecasts at once (the run's forecast-horizon); 1 for a one-step model.</summary>
    public int OutputSize { get; init; } = 1;

    public static ForecastModel From(ModelWeights weights, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ForecastModel(weights, config.HiddenLayerSize, config.NumLayers, config.TimeStep)
        {
            InputFeatures = config.InputFeatures(),
            OutputSize = LstmLayout.OutputSizeOf(config),
        };
    }

    /// <summary>Throws <see cref="IncompatibleWeightsException"/> listing every tensor that does not fit the architecture.</summary>
    public void EnsureValid()
    {
        ArgumentNullException.ThrowIfNull(Weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(TimeStep, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(OutputSize, 1);
        LstmLayout.EnsureCompatible(Weights, HiddenSize, NumLayers, InputSize, OutputSize);
    }
}
