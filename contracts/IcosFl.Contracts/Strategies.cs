namespace IcosFl.Contracts;

/// <summary>Names of the aggregation strategies accepted by the run-config key "strategy".</summary>
public static class Strategies
{
    public const string FedAvg = "fedavg";
    public const string FedProx = "fedprox";
    public const string FedAvgM = "fedavgm";
    public const string FedAdam = "fedadam";
    public const string FedYogi = "fedyogi";
    public const string FedAdagrad = "fedadagrad";
    public const string FedMedian = "fedmedian";
    public const string FedTrimmedAvg = "fedtrimmedavg";
    public const string Krum = "krum";
    public const string MultiKrum = "multikrum";

    public static IReadOnlyList<string> All { get; } =
        [FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedMedian, FedTrimmedAvg, Krum, MultiKrum];
}
