using IcosFl.Contracts;

namespace IcosFl.Learning.Prediction;

/// <summary>
/// A trained one-step forecaster ready to predict: its weights, the architecture they fit
/// (torch.nn.LSTM(1, hidden, layers, batch_first=True) + torch.nn.Linear(hidden, 1)), and the window length it was trained on.
/// </summary>
public sealed record ForecastModel(ModelWeights Weights, int HiddenSize, int NumLayers, int TimeStep)
{
    public static ForecastModel From(ModelWeights weights, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ForecastModel(weights, config.HiddenLayerSize, config.NumLayers, config.TimeStep);
    }

    /// <summary>Throws <see cref="IncompatibleWeightsException"/> listing every tensor that does not fit the architecture.</summary>
    public void EnsureValid()
    {
        ArgumentNullException.ThrowIfNull(Weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(TimeStep, 1);
        LstmLayout.EnsureCompatible(Weights, HiddenSize, NumLayers);
    }
}
