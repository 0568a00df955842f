namespace IcosFl.Learning;

/// <summary>Process-wide TorchSharp settings, applied once before the first model is built.</summary>
internal static class TorchSetup
{
    private static readonly object Gate = new();
    private static bool configured;

    /// <summary>
    /// One intra-op thread. The model is tiny (hundreds of parameters, batches of 64 x 10 steps), so splitting
    /// an operation across threads costs more in synchronisation than it gains, and several workers train
    /// concurrently in one process (embedded mode) on machines with few cores: one thread per training call
    /// avoids oversubscription and keeps results bit-for-bit reproducible. The setting is process-global.
    /// And oneDNN capped at AVX2 (<see cref="OneDnnIsa"/>): its AVX-512 LSTM gives wrong forecasts.
    /// </summary>
    public static void EnsureConfigured()
    {
        lock (Gate)
        {
            if (configured)
            {
                return;
            }

            OneDnnIsa.CapBeforeFirstUse();
            TorchSharp.torch.set_num_threads(1);
            configured = true;
        }
    }
}
