using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IcosFl.Cli.Logs;

/// <summary>One log event of a compact-JSON (CLEF) file, as Serilog's CompactJsonFormatter writes it.</summary>
public sealed record ClefEvent(DateTimeOffset Timestamp, string Level, string? Service, string Message, string? Exception, string Json)
{
    /// <summary>The event, or null for a line that is not a whole CLEF object (a line still being written, a stray line).</summary>
    public static ClefEvent? Parse(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
            return null;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("@t", out var t) ||
                !DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp))
                return null;
            // CLEF leaves @l out for Information.
            var level = root.TryGetProperty("@l", out var l) ? l.GetString() ?? "Information" : "Information";
            var message = root.TryGetProperty("@m", out var m) ? m.GetString() ?? ""
                : root.TryGetProperty("@mt", out var mt) ? Render(mt.GetString() ?? "", root) : "";
            var service = root.TryGetProperty("Service", out var s) ? Text(s) : null;
            var exception = root.TryGetProperty("@x", out var x) ? x.GetString() : null;
            return new ClefEvent(timestamp, level, service, message, exception, line.Trim());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether the event carries the property <paramref name="name"/> with the value <paramref name="value"/>.</summary>
    public bool Has(string name, string value)
    {
        using var document = JsonDocument.Parse(Json);
        return document.RootElement.TryGetProperty(name, out var property) &&
               string.Equals(Text(property), value, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>"03:40:01.123 INF controller  Federation ... accepted" in UTC, as one line (an exception follows on its own lines).</summary>
    public string Format() =>
        $"{Timestamp.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} {Abbreviation(Level)} {Service ?? "-",-10} {Message}" +
        (Exception is null ? "" : Environment.NewLine + Exception.TrimEnd());

    private static string Abbreviation(string level) => level switch
    {
        "Verbose" => "VRB",
        "Debug" => "DBG",
        "Information" => "INF",
        "Warning" => "WRN",
        "Error" => "ERR",
        "Fatal" => "FTL",
        _ => level.ToUpperInvariant(),
    };

    /// <summary>Fills a message template ({Name}, {@Name}, {$Name}, {Name:format}, {{ and }}) from the event's properties.</summary>
    public static string Render(string template, JsonElement properties)
    {
        var text = new StringBuilder(template.Length + 32);
        for (var i = 0; i < template.Length; i++)
        {
            var ch = template[i];
            if (ch == '{' && i + 1 < template.Length && template[i + 1] == '{')
            {
                text.Append('{');
                i++;
                continue;
            }
            if (ch == '}' && i + 1 < template.Length && template[i + 1] == '}')
            {
                text.Append('}');
                i++;
                continue;
            }
            var close = ch == '{' ? template.IndexOf('}', i + 1) : -1;
            if (close < 0)
            {
                text.Append(ch);
                continue;
            }
            var token = template[(i + 1)..close];
            var name = token.TrimStart('@', '$').Split(':', ',')[0];
            text.Append(properties.TryGetProperty(name, out var value) ? Text(value) : template[i..(close + 1)]);
            i = close;
        }
        return text.ToString();
    }

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Null => "null",
        _ => value.GetRawText(),
    };
}
