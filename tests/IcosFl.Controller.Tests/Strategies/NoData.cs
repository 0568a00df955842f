using System.Diagnostics.CodeAnalysis;
using IcosFl.Contracts;
using IcosFl.Controller.Strategies;
using IcosFl.Learning;

namespace IcosFl.Controller.Tests.Strategies;

/// <summary>Controller data that holds nothing: every read says "no data here".</summary>
internal sealed class NoData : IControllerData
{
    public bool TryRead(RunConfig config, [NotNullWhen(true)] out FeatureSeries? series, [NotNullWhen(false)] out string? missing)
    {
        series = null;
        missing = "no data here";
        return false;
    }
}
