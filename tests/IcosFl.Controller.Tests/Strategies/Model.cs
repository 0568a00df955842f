using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Controller.Tests.Strategies;

/// <summary>Small models for strategy tests: a 2-element "w" and a 1-element "b" unless said otherwise.</summary>
internal static class Model
{
    public static ModelWeights Of(float[] w, float[] b) =>
        new([new NamedTensor("w", [w.Length], w), new NamedTensor("b", [b.Length], b)]);

    public static ModelWeights Single(params float[] values) => new([new NamedTensor("w", [values.Length], values)]);

    public static ClientUpdate Update(string worker, ModelWeights weights, int examples = 1, double loss = 0.5) =>
        new(worker, weights, examples, new TrainMetrics(loss, 1, 10));

    public static RoundContext Round(int round = 1, RunConfig? config = null, int attempt = 1) =>
        new(round, attempt, config ?? RunConfig.Default);

    public static float[] Flat(ModelWeights model) => model.Tensors.SelectMany(t => t.Data).ToArray();
}
