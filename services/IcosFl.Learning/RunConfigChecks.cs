using IcosFl.Contracts;

namespace IcosFl.Learning;

/// <summary>The learning code's check of the run-config keys it reads: the one run-config validator's rules (<see cref="RunConfigParser.Validate"/>).</summary>
internal static class RunConfigChecks
{
    /// <exception cref="ArgumentException">One of <paramref name="keys"/> is invalid in the config; the message names each bad one, its rule and its value.</exception>
    public static void Require(RunConfig config, params string[] keys)
    {
        ArgumentNullException.ThrowIfNull(config);
        var problems = RunConfigParser.Validate(config).Where(p => keys.Contains(p.Key)).Select(p => p.Message).ToList();
        if (problems.Count > 0)
            throw new ArgumentException(string.Join("; ", problems), nameof(config));
    }
}
