namespace IcosFl.Contracts;

/// <summary>A model's parameters: an ordered list of named tensors, in state_dict order.</summary>
public sealed record ModelWeights(IReadOnlyList<NamedTensor> Tensors)
{
    public long ParameterCount => Tensors.Sum(t => (long)t.Data.Length);

    public NamedTensor? this[string name] => Tensors.FirstOrDefault(t => t.Name == name);
}
