using System.Diagnostics;
using IcosFl.Contracts;
using IcosFl.Infrastructure.Weights;
using Xunit.Abstractions;

namespace IcosFl.Infrastructure.Tests.Weights;

/// <summary>Runs only when ICOSFL_THROUGHPUT=1: it allocates ~400 MB and measures, it does not assert timings.</summary>
public sealed class ThroughputFactAttribute : FactAttribute
{
    public ThroughputFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ICOSFL_THROUGHPUT") != "1")
        {
            Skip = "measurement; run with ICOSFL_THROUGHPUT=1";
        }
    }
}

public class Measuring_weight_codec_throughput(ITestOutputHelper output)
{
    [ThroughputFact]
    public void Should_report_encode_and_decode_speed_for_a_100_MB_model()
    {
        // 100 MB of float32 in 8 tensors, like a large model's layers.
        const int perTensor = 100 * 1024 * 1024 / 4 / 8;
        var tensors = Enumerable.Range(0, 8)
            .Select(i => new NamedTensor($"layer{i}.weight", [perTensor / 1024, 1024], WeightSamples.Values(perTensor, i)))
            .ToList();
        var model = new ModelWeights(tensors);
        var megabytes = model.ParameterCount * 4 / (1024.0 * 1024.0);

        WeightCodec.Decode(WeightCodec.Encode(model)); // warm-up
        byte[] encoded = [];
        var encodeBest = double.MaxValue;
        var decodeBest = double.MaxValue;
        for (var run = 0; run < 5; run++)
        {
            var watch = Stopwatch.StartNew();
            encoded = WeightCodec.Encode(model);
            encodeBest = Math.Min(encodeBest, watch.Elapsed.TotalSeconds);
            watch.Restart();
            var decoded = WeightCodec.Decode(encoded);
            decodeBest = Math.Min(decodeBest, watch.Elapsed.TotalSeconds);
            Assert.Equal(model.ParameterCount, decoded.ParameterCount);
        }

        var watchHash = Stopwatch.StartNew();
        WeightTransport.Checksum(encoded);
        var hashSeconds = watchHash.Elapsed.TotalSeconds;

        output.WriteLine($"model {megabytes:F1} MB, payload {encoded.Length / (1024.0 * 1024.0):F1} MB");
        output.WriteLine($"encode best of 5: {encodeBest * 1000:F1} ms = {megabytes / encodeBest:F0} MB/s");
        output.WriteLine($"decode best of 5: {decodeBest * 1000:F1} ms = {megabytes / decodeBest:F0} MB/s");
        output.WriteLine($"XxHash64 checksum: {hashSeconds * 1000:F1} ms = {megabytes / hashSeconds:F0} MB/s");
    }
}
