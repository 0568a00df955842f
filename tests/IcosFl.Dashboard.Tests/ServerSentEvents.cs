using System.Text.Json;
using IcosFl.Controller.Status;

namespace IcosFl.Dashboard.Tests;

/// <summary>Reads the dashboard's event stream as a browser's EventSource does (event name, data lines, blank line).</summary>
public static class ServerSentEvents
{
    public static async Task<FederationStatus> NextStatusAsync(StreamReader reader)
    {
        string? name = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
        {
            if (line.Length == 0)
            {
                if (name == "status" && data.Count > 0)
                    return JsonSerializer.Deserialize<FederationStatus>(string.Join('\n', data), ServedFederation.Json)!;
                (name, data) = (null, []);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
                name = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
                data.Add(line["data: ".Length..]);
        }
        throw new EndOfStreamException("the event stream ended before a status event");
    }
}
