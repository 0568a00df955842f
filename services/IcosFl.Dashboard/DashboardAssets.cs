using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace IcosFl.Dashboard;

/// <summary>The pages, script and style, embedded in this assembly (see the csproj).</summary>
public static class DashboardAssets
{
    private static readonly Assembly Assembly = typeof(DashboardAssets).Assembly;

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    public static IResult Serve(string name)
    {
        // Names are looked up, never combined into paths: "../" cannot reach anything else.
        var stream = Assembly.GetManifestResourceStream("dashboard/" + name);
        if (stream is null || !ContentTypes.TryGetValue(Path.GetExtension(name), out var contentType))
        {
            stream?.Dispose();
            return Results.NotFound();
        }
        return Results.Stream(stream, contentType);
    }
}
