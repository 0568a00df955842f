namespace IcosFl.Contracts;

/// <summary>The node metrics IcosFl forecasts (ICOS-FL's names).</summary>
public static class Metrics
{
    public const string CpuUsage = "cpu_usage";
    public const string MemoryUsage = "memory_usage";
    public const string PowerConsumption = "power_consumption";

    public static IReadOnlyList<string> All { get; } = [CpuUsage, MemoryUsage, PowerConsumption];
}
