using System.Diagnostics;
using System.Numerics.Tensors;
using IcosFl.Contracts;
using IcosFl.Controller.Strategies;
using Xunit.Abstractions;

namespace IcosFl.Controller.Tests.Strategies;

/// <summary>
/// FedAvg on big models: the same bits as a plain TensorPrimitives weighted sum, no more than one model of
/// extra memory, and (printed, not asserted) how long it takes next to that plain sum.
/// Defaults to 10 updates x 1 M parameters; set ICOSFL_FEDAVG_PARAMETERS=10000000 and run with -c Release
/// for the 10 M measurement.
/// </summary>
public class FedAvgThroughputTests(ITestOutputHelper output)
{
    private const int Updates = 10;

    private static int Parameters =>
        int.TryParse(Environment.GetEnvironmentVariable("ICOSFL_FEDAVG_PARAMETERS"), out var n) && n > 0 ? n : 1_000_000;

    private static (ModelWeights Global, ClientUpdate[] Updates) BigRound(int parameters)
    {
        var random = new Random(5);
        // Two tensors, so the per-tensor loop is exercised; LSTM-like names.
        var split = parameters / 4;
        ModelWeights Make(float scale)
        {
            var a = new float[parameters - split];
            var b = new float[split];
            for (var i = 0; i < a.Length; i++) a[i] = scale * (float)random.NextDouble();
            for (var i = 0; i < b.Length; i++) b[i] = scale * (float)random.NextDouble();
            return new ModelWeights([new NamedTensor("lstm.weight_ih_l0", [a.Length], a), new NamedTensor("linear.weight", [b.Length], b)]);
        }

        var global = Make(1f);
        var updates = Enumerable.Range(0, Updates).Select(i => Model.Update($"w{i}", Make(1f), examples: 100 + (37 * i))).ToArray();
        return (global, updates);
    }

    private static float[][] PlainWeightedSum(ClientUpdate[] updates, float[][] destination)
    {
        var factors = Aggregation.NormalisedFactors(updates.Select(u => (double)u.NumExamples).ToArray(), updates.Length);
        for (var t = 0; t < destination.Length; t++)
        {
            TensorPrimitives.Multiply(updates[0].Weights.Tensors[t].Data, factors[0], destination[t]);
            for (var i = 1; i < updates.Length; i++)
            {
                TensorPrimitives.MultiplyAdd(updates[i].Weights.Tensors[t].Data, factors[i], destination[t], destination[t]);
            }
        }

        return destination;
    }

    [Fact]
    public void Should_match_a_plain_weighted_sum_bit_for_bit_with_one_model_of_extra_memory()
    {
        var parameters = Parameters;
        var (global, updates) = BigRound(parameters);
        var plain = PlainWeightedSum(updates, global.Tensors.Select(t => new float[t.Data.Length]).ToArray());
        var strategy = new FedAvg();
        strategy.AggregateTrain(Model.Round(), global, updates, null); // warm-up (JIT)

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = strategy.AggregateTrain(Model.Round(), global, updates, null);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        for (var t = 0; t < plain.Length; t++)
        {
            Assert.True(plain[t].AsSpan().SequenceEqual(result.Global.Tensors[t].Data), $"tensor {t} differs from the plain weighted sum");
        }

        long modelBytes = parameters * sizeof(float);
        Assert.True(allocated <= modelBytes + (64 * 1024), $"FedAvg allocated {allocated:N0} bytes for a {modelBytes:N0}-byte model");
        output.WriteLine("FedAvg over {0} updates x {1:N0} parameters allocated {2:N0} bytes (model: {3:N0})", Updates, parameters, allocated, modelBytes);

        Measure(global, updates, strategy);
    }

    private void Measure(ModelWeights global, ClientUpdate[] updates, FedAvg strategy)
    {
        var destination = global.Tensors.Select(t => new float[t.Data.Length]).ToArray();
        var models = updates.Select(u => u.Weights).ToArray();
        var weights = updates.Select(u => (double)u.NumExamples).ToArray();
        (string Name, Action Run)[] contenders =
        [
            ("plain TensorPrimitives weighted sum (preallocated output)", () => PlainWeightedSum(updates, destination)),
            ("Aggregation.WeightedAverage (new output)", () => Aggregation.WeightedAverage(models, weights)),
            ("UpdateValidator.FindProblem x updates", () => Array.ForEach(updates, u => UpdateValidator.FindProblem(global, u, RunConfig.Default))),
            ("FedAvg.AggregateTrain (validation + average + loss)", () => strategy.AggregateTrain(Model.Round(), global, updates, null)),
        ];

        // Interleaved repetitions, best of each: the machine is shared, so the minimum is the honest figure.
        var best = contenders.Select(_ => double.MaxValue).ToArray();
        for (var rep = 0; rep < 9; rep++)
        {
            for (var c = 0; c < contenders.Length; c++)
            {
                var watch = Stopwatch.StartNew();
                contenders[c].Run();
                best[c] = Math.Min(best[c], watch.Elapsed.TotalMilliseconds);
            }
        }

        for (var c = 0; c < contenders.Length; c++)
        {
            output.WriteLine("{0}: {1:F1} ms ({2:F2}x plain)", contenders[c].Name, best[c], best[c] / best[0]);
        }
    }
}
