using System.Globalization;
using IcosFl.Contracts;

namespace IcosFl.Cli.Simulation;

/// <summary>How a simulated hostile or broken worker rewrites its update before sending it.</summary>
public enum AdversaryKind
{
    /// <summary>Sends global + K·delta (delta = trained - global): a boosted (model-replacement style) update.</summary>
    Scale,

    /// <summary>Sends global - K·delta (K = 1 unless given): the update pointing the other way, optionally boosted.</summary>
    SignFlip,

    /// <summary>Sends NaN in every weight, as diverged training would.</summary>
    NaN,
}

/// <summary>
/// One simulated adversary, as given to <c>icosfl simulate --adversary worker-N=KIND</c>:
/// <c>scale:K</c>, <c>sign-flip</c>, <c>sign-flip:K</c> or <c>nan</c>. Simulation only: it tests how strategies and
/// update validation withstand a node that sends a harmful update.
/// </summary>
public sealed record SimulatedAdversary(AdversaryKind Kind, double Factor = 1)
{
    public const string Usage = "worker-N=KIND with KIND one of scale:K (K a finite number), sign-flip, sign-flip:K (K > 0), nan";

    /// <summary>The update this adversary sends instead of the honest <paramref name="trained"/> weights.</summary>
    public ModelWeights Apply(ModelWeights global, ModelWeights trained)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(trained);
        var factor = Kind == AdversaryKind.SignFlip ? -Factor : Factor;
        var tensors = trained.Tensors.Select((t, i) =>
        {
            var data = new float[t.Data.Length];
            if (Kind == AdversaryKind.NaN)
            {
                Array.Fill(data, float.NaN);
            }
            else
            {
                var g = global.Tensors[i].Data;
                for (var j = 0; j < data.Length; j++)
                    data[j] = (float)(g[j] + factor * ((double)t.Data[j] - g[j]));
            }

            return new NamedTensor(t.Name, (int[])t.Shape.Clone(), data);
        });
        return new ModelWeights([.. tensors]);
    }

    /// <summary>The kind as written on the command line: scale:100, sign-flip, nan.</summary>
    public override string ToString() => Kind switch
    {
        AdversaryKind.Scale => "scale:" + Factor.ToString("R", CultureInfo.InvariantCulture),
        AdversaryKind.SignFlip => Factor == 1 ? "sign-flip" : "sign-flip:" + Factor.ToString("R", CultureInfo.InvariantCulture),
        _ => "nan",
    };

    /// <summary>Reads "worker-N=KIND" (one --adversary value).</summary>
    /// <exception cref="FormatException">The value is not of that form; the message quotes it and says what is accepted.</exception>
    public static (string WorkerId, SimulatedAdversary Adversary) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var equals = text.IndexOf('=');
        if (equals < 0)
            throw new FormatException($"--adversary '{text}': expected {Usage}");
        var worker = text[..equals].Trim();
        var kind = text[(equals + 1)..].Trim();
        if (!worker.StartsWith("worker-", StringComparison.Ordinal)
            || !int.TryParse(worker["worker-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number < 1)
            throw new FormatException($"--adversary '{text}': '{worker}' is not a simulated worker id; expected worker-N with N >= 1 ({Usage})");
        return ($"worker-{number}", ParseKind(text, kind));
    }

    private static SimulatedAdversary ParseKind(string text, string kind)
    {
        switch (kind.ToLowerInvariant())
        {
            case "sign-flip":
                return new SimulatedAdversary(AdversaryKind.SignFlip);
            case "nan":
                return new SimulatedAdversary(AdversaryKind.NaN);
        }

        if (kind.StartsWith("sign-flip:", StringComparison.OrdinalIgnoreCase))
        {
            var factor = kind["sign-flip:".Length..];
            if (double.TryParse(factor, NumberStyles.Float, CultureInfo.InvariantCulture, out var k) && double.IsFinite(k) && k > 0)
                return new SimulatedAdversary(AdversaryKind.SignFlip, k);
            throw new FormatException($"--adversary '{text}': sign-flip factor '{factor}' is not a finite number > 0 (e.g. sign-flip:4)");
        }

        if (kind.StartsWith("scale:", StringComparison.OrdinalIgnoreCase))
        {
            var factor = kind["scale:".Length..];
            if (double.TryParse(factor, NumberStyles.Float, CultureInfo.InvariantCulture, out var k) && double.IsFinite(k))
                return new SimulatedAdversary(AdversaryKind.Scale, k);
            throw new FormatException($"--adversary '{text}': scale factor '{factor}' is not a finite number (e.g. scale:100)");
        }

        throw new FormatException($"--adversary '{text}': unknown kind '{kind}'; expected {Usage}");
    }
}
