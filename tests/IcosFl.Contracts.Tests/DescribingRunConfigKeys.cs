using System.Reflection;
using System.Text.RegularExpressions;
using IcosFl.Contracts;

namespace IcosFl.Contracts.Tests;

public class Describing_run_config_keys
{
    private static string Kebab(string pascal) =>
        Regex.Replace(pascal, "(?<=[a-z0-9])([A-Z])|(?<=[a-zA-Z])([0-9])", "-$1$2").ToLowerInvariant();

    private static readonly PropertyInfo[] Properties = typeof(RunConfig)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanWrite)
        .ToArray();

    [Fact]
    public void Should_have_one_key_per_run_config_property_in_property_order()
    {
        Assert.Equal(Properties.Select(p => Kebab(p.Name)), RunConfigKeys.All.Select(k => k.Name));
        Assert.Equal(36, RunConfigKeys.All.Count);
    }

    [Fact]
    public void Should_make_each_key_set_its_own_property_and_no_other()
    {
        foreach (var key in RunConfigKeys.All)
        {
            var value = key.Name switch
            {
                "metric" => Metrics.PowerConsumption,
                "input-metrics" => Metrics.MemoryUsage,
                "strategy" => Strategies.MultiKrum,
                _ when key.DefaultValue.Contains('.') => "0.0625",
                _ => "7",
            };

            var config = RunConfigParser.Apply(RunConfig.Default, [KeyValuePair.Create(key.SnakeCaseName, value)]);

            var changed = Properties.Where(p => !Equals(p.GetValue(config), p.GetValue(RunConfig.Default))).Select(p => Kebab(p.Name));
            Assert.Equal([key.Name], changed);
            Assert.Equal(value, key.ValueOf(config));
        }
    }

    [Fact]
    public void Should_describe_each_key_for_help_text()
    {
        Assert.All(RunConfigKeys.All, key =>
        {
            Assert.False(string.IsNullOrWhiteSpace(key.Description));
            Assert.Matches("^(an integer|a number|one of |a comma-separated list of )", key.Accepted);
            Assert.Equal(key.Name.Replace('-', '_'), key.SnakeCaseName);
        });
        Assert.Equal("a number in (0, 1]", RunConfigKeys.Find(RunConfigKeys.FractionFit)!.Accepted);
        Assert.Equal("one of cpu_usage, memory_usage, power_consumption", RunConfigKeys.Find("METRIC")!.Accepted);
        Assert.Equal("10", RunConfigKeys.Find("num_server_rounds")!.DefaultValue);
        Assert.Null(RunConfigKeys.Find("num-rounds"));
    }

    [Fact]
    public void Should_be_documented_in_docs_run_configuration_exactly_as_run_config_markdown_prints_them()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IcosFl.sln")))
            dir = dir.Parent;
        Assert.NotNull(dir);
        var page = File.ReadAllText(Path.Combine(dir.FullName, "docs", "run-configuration.md")).ReplaceLineEndings("\n");

        var table = RunConfigKeys.MarkdownTable();

        Assert.True(page.Contains(table, StringComparison.Ordinal),
            "docs/run-configuration.md does not hold the table `icosfl run-config --markdown` prints; paste it in again:\n" + table);
    }
}
