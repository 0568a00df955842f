namespace IcosFl.Cli;

/// <summary>The CLI's exit codes (documented in the README).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int FederationFailed = 1;
    public const int BadUsage = 2;
    public const int Unreachable = 3;
}
