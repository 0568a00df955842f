using System.Runtime.InteropServices;

namespace IcosFl.Learning;

/// <summary>
/// Caps oneDNN (libtorch's CPU kernels) at AVX2 before its first use (<see cref="TorchSetup"/>). On the AVX-512 build machines the LSTM
/// that libtorch runs without autograd (every evaluation and forecast: <c>no_grad</c>) through oneDNN's AVX-512
/// kernel returns wrong values: 1.1312 where PyTorch, a hand-written LSTM and the same libtorch with autograd on all
/// give 1.1027 (PyTorchLoadingTests), so every evaluation differed from the model that was trained. Capped at
/// AVX2 the kernel agrees with them to 1e-7. oneDNN reads <c>ONEDNN_MAX_CPU_ISA</c> from the native environment once,
/// at its first use, so it is set with libc's setenv (the managed Environment does not reach native getenv on
/// Linux), and an operator's own setting is kept.
/// </summary>
internal static class OneDnnIsa
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";

    public static void CapBeforeFirstUse()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) is { Length: > 0 })
            return;
        _ = setenv(Variable, "AVX2", overwrite: 0);
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int setenv(string name, string value, int overwrite);
}
