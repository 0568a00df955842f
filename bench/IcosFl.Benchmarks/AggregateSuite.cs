using System.Numerics.Tensors;
using IcosFl.Contracts;
using IcosFl.Controller.Strategies;

namespace IcosFl.Benchmarks;

/// <summary>
/// FedAvg's weighted average (Aggregation.WeightedAverage, what the aggregator runs) over 10 updates of
/// 10 M float32 parameters, beside the plainest TensorPrimitives weighted sum of the same arrays
/// (Multiply then MultiplyAdd over whole spans), with the bytes each allocates.
/// </summary>
public static class AggregateSuite
{
    public static async Task<SuiteResult> RunAsync(bool quick)
    {
        const int updates = 10;
        var parameters = 10_000_000;
        var repetitions = quick ? 5 : 15;
        // Tensors shaped like a large LSTM's: four matrices and a bias.
        int[] tensorSizes = [parameters / 4, parameters / 4, parameters / 4, parameters / 4 - 1000, 1000];
        var random = new Random(7);
        var models = Enumerable.Range(0, updates).Select(_ => new ModelWeights(tensorSizes.Select((size, t) =>
        {
            var data = new float[size];
            for (var i = 0; i < size; i++)
                data[i] = (float)(random.NextDouble() - 0.5);
            return new NamedTensor($"t{t}", [size], data);
        }).ToList())).ToList();
        var examples = Enumerable.Range(0, updates).Select(i => (double)(100 + 37 * i)).ToList();
        var factors = Aggregation.NormalisedFactors(examples, updates);

        long fedAvgAllocated = 0;
        ModelWeights? fedAvgResult = null;
        var fedAvg = await Measure.RepeatAsync(repetitions, () =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            fedAvgResult = Aggregation.WeightedAverage(models, examples);
            fedAvgAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
            return Task.CompletedTask;
        });

        long rawAllocated = 0;
        float[][]? rawResult = null;
        var raw = await Measure.RepeatAsync(repetitions, () =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            rawResult = new float[tensorSizes.Length][];
            for (var t = 0; t < tensorSizes.Length; t++)
            {
                var output = new float[tensorSizes[t]];
                TensorPrimitives.Multiply(models[0].Tensors[t].Data, factors[0], output);
                for (var m = 1; m < updates; m++)
                    TensorPrimitives.MultiplyAdd(models[m].Tensors[t].Data, factors[m], output, output);
                rawResult[t] = output;
            }
            rawAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
            return Task.CompletedTask;
        });

        // Same operations in the same order: the results must agree exactly, or the comparison is void.
        for (var t = 0; t < tensorSizes.Length; t++)
        {
            if (!fedAvgResult!.Tensors[t].Data.AsSpan().SequenceEqual(rawResult![t]))
                throw new InvalidOperationException($"aggregate: FedAvg and the TensorPrimitives sum differ in tensor {t}");
        }

        var modelBytes = (long)parameters * sizeof(float);
        var fedAvgMs = Measure.Median(fedAvg);
        var rawMs = Measure.Median(raw);
        var ratio = fedAvgMs / rawMs;
        var rows = new List<IReadOnlyDictionary<string, object>>
        {
            Row("FedAvg (Aggregation.WeightedAverage)", fedAvgMs, fedAvg, fedAvgAllocated, modelBytes),
            Row("baseline: TensorPrimitives Multiply+MultiplyAdd", rawMs, raw, rawAllocated, modelBytes),
        };
        var memoryOk = fedAvgAllocated <= modelBytes * 11 / 10;
        return new SuiteResult("aggregate", rows, ratio, "FedAvg median time / TensorPrimitives median time, 10 updates x 10 M float32",
            "<= 1.5, allocating at most one model (40 MB) beyond the inputs", ratio <= 1.5 && memoryOk);
    }

    private static Dictionary<string, object> Row(string what, double medianMs, List<double> all, long allocated, long modelBytes) => new()
    {
        ["what"] = what,
        ["median_ms"] = medianMs,
        ["min_ms"] = all.Min(),
        ["max_ms"] = all.Max(),
        ["runs"] = all.Count,
        ["allocated_MB"] = allocated / 1e6,
        ["allocated_models"] = (double)allocated / modelBytes,
        ["GB_per_s_read"] = 10.0 * modelBytes / 1e9 / (medianMs / 1000),
    };
}
