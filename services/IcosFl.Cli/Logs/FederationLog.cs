namespace IcosFl.Cli.Logs;

/// <summary>
/// A federation's events in a folder of CLEF files (every process writes {service}-{date}.clef there),
/// merged in time order. Reads only what was appended since the last call, so following a live
/// federation costs a few bytes per poll.
/// </summary>
public sealed class FederationLog(string directory, Guid federationId)
{
    private readonly Dictionary<string, long> _offsets = new(StringComparer.Ordinal);
    private readonly string _id = federationId.ToString("D");

    /// <summary>The federation's events written since the last call (all of them on the first), oldest first.</summary>
    public IReadOnlyList<ClefEvent> ReadNew()
    {
        var events = new List<ClefEvent>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.clef").Order(StringComparer.Ordinal))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var offset = _offsets.GetValueOrDefault(file);
            if (stream.Length < offset)
                offset = 0; // The file was replaced: read it again from the start.
            stream.Seek(offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            // A line without its newline is still being written: leave it for the next call.
            var complete = text.LastIndexOf('\n') + 1;
            foreach (var line in text[..complete].Split('\n'))
                if (ClefEvent.Parse(line) is { } e && e.Has("FederationId", _id))
                    events.Add(e);
            _offsets[file] = offset + reader.CurrentEncoding.GetByteCount(text[..complete]);
        }
        return events.OrderBy(e => e.Timestamp).ToList();
    }
}
