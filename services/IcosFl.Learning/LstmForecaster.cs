using IcosFl.Contracts;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace IcosFl.Learning;

/// <summary>
/// The forecasting model: an LSTM over a window of time steps (batch-first; at each step the forecast metric, then any
/// input metrics) whose last step's output goes through one linear layer to the change of the forecast metric from the
/// window's last value at each of the next <see cref="OutputSize"/> steps (a direct multi-horizon head: step h is read
/// off output h, not fed back). The forward pass adds that last value back (a residual connection, no parameters), so
/// it returns the forecast values themselves, and a model whose linear layer outputs 0 is persistence.
/// Input [batch, time, inputSize], output [batch, outputSize]; with outputSize 1 the layers are ICOS-FL's.
/// Field names are the state_dict prefixes ("lstm.", "linear."), as in the PyTorch model ICOS-FL trains.
/// </summary>
public sealed class LstmForecaster : nn.Module<Tensor, Tensor>
{
    // Names matter: RegisterComponents uses the field names as state_dict prefixes.
#pragma warning disable IDE1006
    private readonly LSTM lstm;
    private readonly Linear linear;
#pragma warning restore IDE1006

    public LstmForecaster(int hiddenSize, int numLayers) : this(hiddenSize, numLayers, LstmLayout.InputSize)
    {
    }

    public LstmForecaster(int hiddenSize, int numLayers, int inputSize, int outputSize = 1) : base(nameof(LstmForecaster))
    {
        TorchSetup.EnsureConfigured();
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        InputSize = inputSize;
        OutputSize = outputSize;
        lstm = nn.LSTM(inputSize, hiddenSize, numLayers, batchFirst: true);
        linear = nn.Linear(hiddenSize, outputSize);
        RegisterComponents();
    }

    public int HiddenSize { get; }

    public int NumLayers { get; }

    /// <summary>Values per time step: 1 for the forecast metric plus one per input metric.</summary>
    public int InputSize { get; }

    /// <summary>Steps ahead the model forecasts at once: the run's forecast-horizon (<see cref="LstmLayout.OutputSizeOf"/>).</summary>
    public int OutputSize { get; }

    /// <summary>The model of <paramref name="config"/>: its hidden size, layers, inputs and forecast horizon.</summary>
    public static LstmForecaster For(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new LstmForecaster(config.HiddenLayerSize, config.NumLayers, LstmLayout.InputSizeOf(config), LstmLayout.OutputSizeOf(config));
    }

    public override Tensor forward(Tensor input)
    {
        var (output, hidden, cell) = lstm.forward(input);
        hidden.Dispose();
        cell.Dispose();
        using var lastStep = output.select(1, -1);
        output.Dispose();
        using var change = linear.forward(lastStep);
        // Residual: each output is a change from the window's last value of the forecast metric ([batch, 1], broadcast).
        using var last = input.narrow(1, input.shape[1] - 1, 1).select(1, 0).narrow(1, 0, 1);
        return change.add(last, HeldScalars.One);
    }

    /// <summary>The parameters as named float32 tensors, in state_dict order.</summary>
    public ModelWeights GetWeights()
    {
        using var scope = NewDisposeScope();
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var tensors = new List<NamedTensor>();
        foreach (var spec in LstmLayout.Tensors(HiddenSize, NumLayers, InputSize, OutputSize))
        {
            var values = parameters[spec.Name].detach().contiguous();
            tensors.Add(new NamedTensor(spec.Name, (int[])spec.Shape.Clone(), values.data<float>().ToArray()));
        }

        return new ModelWeights(tensors);
    }

    /// <summary>Copies <paramref name="weights"/> into the parameters; throws <see cref="IncompatibleWeightsException"/> naming every misfit.</summary>
    public void LoadWeights(ModelWeights weights)
    {
        LstmLayout.EnsureCompatible(weights, HiddenSize, NumLayers, InputSize, OutputSize);
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = no_grad();
        foreach (var tensor in weights.Tensors)
        {
            using var source = torch.tensor(tensor.Data, tensor.Shape.Select(d => (long)d).ToArray());
            parameters[tensor.Name].copy_(source);
        }
    }
}
