using System.Diagnostics.CodeAnalysis;
using IcosFl.Contracts;
using IcosFl.Controller.Strategies;
using IcosFl.Learning;
using IcosFl.Learning.NodeData;

namespace IcosFl.Controller.Rounds;

/// <summary>The controller node's own data (its <see cref="INodeDataSource"/>), read for centralized evaluation and the checkpoint's scalers.</summary>
public sealed class ControllerNodeData(INodeDataSource data) : IControllerData
{
    /// <summary>The node's series of the model's input features, aligned; false with the reason when it lacks one.</summary>
    public bool TryRead(RunConfig config, [NotNullWhen(true)] out FeatureSeries? series, [NotNullWhen(false)] out string? missing)
    {
        try
        {
            if (FeatureSeries.TryRead(data, config, out series, out var unavailable))
            {
                missing = null;
                return true;
            }

            missing = config.InputFeatures().FirstOrDefault(m => data.GetSeries(m) is null) is { } metric
                ? $"the controller node has no {metric} data"
                : unavailable;
            return false;
        }
        catch (ArgumentException e)
        {
            series = null;
            missing = $"the controller node's series cannot be aligned: {e.Message}";
            return false;
        }
    }
}
