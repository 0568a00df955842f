using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using System.Text.Json.Serialization;

namespace IcosFl.Benchmarks;

/// <summary>One suite's outcome: its rows (each figure beside its baseline), the headline ratio and its target.</summary>
public sealed record SuiteResult(
    [property: JsonPropertyName("suite")] string Suite,
    [property: JsonPropertyName("rows")] IReadOnlyList<IReadOnlyDictionary<string, object>> Rows,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("ratioMeaning")] string RatioMeaning,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("meetsTarget")] bool MeetsTarget)
{
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new NotANumberAsNull() },
    });

    /// <summary>A figure that does not apply to a row (NaN, e.g. the Redis ceiling of an inline transfer) is null in JSON.</summary>
    private sealed class NotANumberAsNull : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value))
                writer.WriteNumberValue(value);
            else
                writer.WriteNullValue();
        }
    }

    public void WriteTable(TextWriter writer)
    {
        writer.WriteLine($"== {Suite}");
        if (Rows.Count > 0)
        {
            var columns = Rows[0].Keys.ToList();
            var cells = Rows.Select(r => columns.Select(c => Format(r[c])).ToList()).ToList();
            var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Max(r => r[i].Length))).ToList();
            writer.WriteLine(string.Join("  ", columns.Select((c, i) => c.PadLeft(widths[i]))));
            foreach (var row in cells)
                writer.WriteLine(string.Join("  ", row.Select((c, i) => c.PadLeft(widths[i]))));
        }
        writer.WriteLine($"ratio {Ratio:0.###} ({RatioMeaning}); target {Target}: {(MeetsTarget ? "met" : "NOT met")}");
    }

    private static string Format(object value) => value switch
    {
        double d => d.ToString(Math.Abs(d) >= 100 ? "0.#" : "0.###", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}

public static class Measure
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Milliseconds of each of <paramref name="repetitions"/> runs after one unmeasured warm-up run.</summary>
    public static async Task<List<double>> RepeatAsync(int repetitions, Func<Task> run)
    {
        await run();
        var times = new List<double>(repetitions);
        for (var i = 0; i < repetitions; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await run();
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }
        return times;
    }
}

public static class BenchLogging
{
    /// <summary>
    /// Errors only, on stderr: stdout holds the figures (JSON with --json). Saga concurrency retries are
    /// warnings and part of what is measured, not news.
    /// </summary>
    public static ILoggingBuilder QuietOnStandardError(this ILoggingBuilder logging) => logging
        .ClearProviders()
        .SetMinimumLevel(LogLevel.Error)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
}
