using IcosFl.Contracts;
using IcosFl.Learning.NodeData;

namespace IcosFl.Learning.Tests.NodeData;

public sealed class NodeDataCsvTests
{
    [Fact]
    public void Reads_any_subset_of_metrics_in_any_order_with_both_timestamp_forms()
    {
        var result = NodeDataCsv.Read(new StringReader(
            "timestamp,memory_usage,cpu_usage\n2026-11-28T10:00:00Z,2048,0.5\n1795860003.5,,0.75\n\n2026-11-28T11:00:06+01:00,2050,\n"));

        Assert.Empty(result.Errors);
        Assert.Equal(3, result.Rows);
        var t0 = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(
            [
                new MetricSample(Metrics.MemoryUsage, t0, 2048), new MetricSample(Metrics.CpuUsage, t0, 0.5),
                new MetricSample(Metrics.CpuUsage, t0.AddSeconds(3.5), 0.75),
                new MetricSample(Metrics.MemoryUsage, t0.AddSeconds(6), 2050),
            ],
            result.Samples);
    }

    [Fact]
    public void Bad_rows_are_reported_with_their_line_numbers_and_good_rows_kept()
    {
        var result = NodeDataCsv.Read(new StringReader(
            "timestamp,cpu_usage,power_consumption\n" +
            "1795860000,0.5,80\n" +
            "yesterday,0.5,80\n" +
            "1795860006,0.5\n" +
            "1795860009,NaN,80\n" +
            "1795860012,0.5,-3\n" +
            "1795860015,1e400,80\n" +
            "1795860018,0.25,81\n"));

        Assert.Equal(
            [
                new CsvRowError(3, "timestamp 'yesterday' is neither ISO 8601 nor Unix seconds"),
                new CsvRowError(4, "2 cells, the header has 3"),
                new CsvRowError(5, "cpu_usage 'NaN' is not a finite number"),
                new CsvRowError(6, "power_consumption -3 is negative"),
                new CsvRowError(7, "cpu_usage '1e400' is not a finite number"),
            ],
            result.Errors);
        Assert.Equal(4, result.Samples.Count);
        Assert.Equal("line 4: 2 cells, the header has 3", result.Errors[1].ToString());
    }

    [Theory]
    [InlineData("", "The file is empty: line 1 must be a header such as 'timestamp,cpu_usage,memory_usage,power_consumption'.")]
    [InlineData("time,cpu_usage\n", "Line 1: the first column must be 'timestamp', found 'time'.")]
    [InlineData("timestamp,cpu,memory_usage\n", "Line 1: column 2 'cpu' is not a metric; known metrics: cpu_usage, memory_usage, power_consumption, cpu_utilisation.")]
    [InlineData("timestamp,cpu_usage,cpu_usage\n", "Line 1: column 'cpu_usage' appears twice.")]
    [InlineData("timestamp\n1,\n", "Line 1: no metric column; add at least one of cpu_usage, memory_usage, power_consumption, cpu_utilisation.")]
    public void A_bad_header_is_named(string text, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => NodeDataCsv.Read(new StringReader(text))).Message);
    }

    [Fact]
    public void Written_files_read_back_the_same_samples()
    {
        var t0 = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
        MetricSample[] samples =
        [
            new(Metrics.CpuUsage, t0, 0.5), new(Metrics.MemoryUsage, t0, 2048.25), new(Metrics.CpuUsage, t0.AddSeconds(3), 0.125),
        ];
        var writer = new StringWriter();
        NodeDataCsv.Write(writer, [Metrics.CpuUsage, Metrics.MemoryUsage], samples);
        Assert.Equal("timestamp,cpu_usage,memory_usage\n2026-11-28T10:00:00.000Z,0.5,2048.25\n2026-11-28T10:00:03.000Z,0.125,\n",
            writer.ToString().ReplaceLineEndings("\n"));
        Assert.Equal(samples, NodeDataCsv.Read(new StringReader(writer.ToString())).Samples);
    }
}
