using IcosFl.Contracts;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace IcosFl.Learning;

/// <summary>
/// The forecasting model: an LSTM over a window of values (batch-first, one feature) whose last step's output
/// goes through a linear layer to the next value. Input [batch, time, 1], output [batch].
/// Field names are the state_dict prefixes ("lstm.", "linear."), as in the PyTorch model ICOS-FL trains.
/// </summary>
public sealed class LstmForecaster : nn.Module<Tensor, Tensor>
{
    // Names matter: RegisterComponents uses the field names as state_dict prefixes.
#pragma warning disable IDE1006
    private readonly LSTM lstm;
    private readonly Linear linear;
#pragma warning restore IDE1006

    public LstmForecaster(int hiddenSize, int numLayers) : base(nameof(LstmForecaster))
    {
        TorchSetup.EnsureConfigured();
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        lstm = nn.LSTM(LstmLayout.InputSize, hiddenSize, numLayers, batchFirst: true);
        linear = nn.Linear(hiddenSize, 1);
        RegisterComponents();
    }

    public int HiddenSize { get; }

    public int NumLayers { get; }

    public override Tensor forward(Tensor input)
    {
        var (output, hidden, cell) = lstm.forward(input);
        hidden.Dispose();
        cell.Dispose();
        using var lastStep = output.select(1, -1);
        output.Dispose();
        using var next = linear.forward(lastStep);
        return next.squeeze(-1);
    }

    /// <summary>The parameters as named float32 tensors, in state_dict order.</summary>
    public ModelWeights GetWeights()
    {
        using var scope = NewDisposeScope();
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var tensors = new List<NamedTensor>();
        foreach (var spec in LstmLayout.Tensors(HiddenSize, NumLayers))
        {
            var values = parameters[spec.Name].detach().contiguous();
            tensors.Add(new NamedTensor(spec.Name, (int[])spec.Shape.Clone(), values.data<float>().ToArray()));
        }

        return new ModelWeights(tensors);
    }

    /// <summary>Copies <paramref name="weights"/> into the parameters; throws <see cref="IncompatibleWeightsException"/> naming every misfit.</summary>
    public void LoadWeights(ModelWeights weights)
    {
        LstmLayout.EnsureCompatible(weights, HiddenSize, NumLayers);
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = no_grad();
        foreach (var tensor in weights.Tensors)
        {
            using var source = torch.tensor(tensor.Data, tensor.Shape.Select(d => (long)d).ToArray());
            parameters[tensor.Name].copy_(source);
        }
    }
}
