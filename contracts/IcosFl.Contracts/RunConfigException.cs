namespace IcosFl.Contracts;

/// <summary>A run configuration that cannot be used; the message names the key and what it accepts.</summary>
public sealed class RunConfigException(string key, string message) : Exception(message)
{
    /// <summary>The offending key as it was given (for an unknown key) or its kebab-case name.</summary>
    public string Key { get; } = key;
}

/// <summary>One problem of a run configuration: the kebab-case key and a message naming what is accepted.</summary>
public sealed record RunConfigError(string Key, string Message);
