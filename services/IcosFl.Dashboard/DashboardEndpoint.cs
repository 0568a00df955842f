namespace IcosFl.Dashboard;

/// <summary>Reads the <c>--http</c> option: where the dashboard listens, or "off".</summary>
public static class DashboardEndpoint
{
    public const string Default = "127.0.0.1:8080";

    /// <summary>
    /// "127.0.0.1:8080", "http://0.0.0.0:9000", "localhost:0" (any free port) or "off" (null: no dashboard).
    /// Throws <see cref="FormatException"/> naming what is wrong.
    /// </summary>
    public static Uri? Parse(string text)
    {
        var value = text.Trim();
        if (value.Equals("off", StringComparison.OrdinalIgnoreCase) || value.Equals("none", StringComparison.OrdinalIgnoreCase))
            return null;
        if (value.Length == 0)
            throw new FormatException("--http is empty; give HOST:PORT (e.g. 127.0.0.1:8080) or off");
        if (value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new FormatException($"--http {text}: only plain http is served; put a TLS proxy in front, or give http://HOST:PORT");
        var withScheme = value.Contains("://", StringComparison.Ordinal) ? value : "http://" + value;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            throw new FormatException($"--http {text}: not an address; give HOST:PORT (e.g. 127.0.0.1:8080) or off");
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0)
            throw new FormatException($"--http {text}: give HOST:PORT only, without a path");
        // Uri fills in 80 when the text names no port; a dashboard on 80 by accident is surprising.
        var authority = withScheme[(withScheme.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
        var lastColon = authority.LastIndexOf(':');
        var closingBracket = authority.LastIndexOf(']');
        if (lastColon < 0 || lastColon < closingBracket)
            throw new FormatException($"--http {text}: no port; give HOST:PORT (e.g. {uri.Host}:8080), or HOST:0 for any free port");
        if (!int.TryParse(authority[(lastColon + 1)..], out var port) || port is < 0 or > 65535)
            throw new FormatException($"--http {text}: the port must be a number from 0 to 65535");
        return new UriBuilder(Uri.UriSchemeHttp, uri.Host, port).Uri;
    }
}
