namespace IcosFl.Contracts;

/// <summary>
/// One named tensor of a model, row-major float32. <see cref="Name"/> is the PyTorch state_dict name
/// (lstm.weight_ih_l0, ..., linear.weight, linear.bias).
/// </summary>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data)
{
    public const string Float32 = "float32";

    /// <summary>The element type; IcosFl models are float32 throughout.</summary>
    public string DType => Float32;

    /// <summary>Number of elements the shape describes.</summary>
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);
}
