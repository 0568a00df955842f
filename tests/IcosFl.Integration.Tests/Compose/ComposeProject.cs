using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace IcosFl.Integration.Tests.Compose;

/// <summary>
/// The compose/ folder as files: compose files read with a YAML parser (merge keys resolved), the
/// .env file, the RabbitMQ definitions. Nothing here needs Docker.
/// </summary>
public sealed partial class ComposeProject
{
    private ComposeProject(string root)
    {
        RepositoryRoot = root;
        Folder = Path.Combine(root, "compose");
        EnvFile = ReadEnvFile(Path.Combine(Folder, ".env"));
    }

    public string RepositoryRoot { get; }
    public string Folder { get; }
    public IReadOnlyDictionary<string, string> EnvFile { get; }

    public static ComposeProject Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IcosFl.sln")))
            dir = dir.Parent;
        return new ComposeProject(dir?.FullName
            ?? throw new InvalidOperationException($"no IcosFl.sln above {AppContext.BaseDirectory}"));
    }

    public string Text(string relativePath) => File.ReadAllText(Path.Combine(Folder, relativePath));

    /// <summary>The services of a compose file, each as its mapping with "&lt;&lt;" merge keys applied.</summary>
    public IReadOnlyDictionary<string, YamlMappingNode> Services(string composeFile)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(Text(composeFile)))
            stream.Load(reader);
        var root = (YamlMappingNode)stream.Documents.Single().RootNode;
        var services = (YamlMappingNode)root.Children[new YamlScalarNode("services")];
        return services.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => Merged((YamlMappingNode)kv.Value));
    }

    /// <summary>A service's environment as name -> raw value (before interpolation).</summary>
    public static IReadOnlyDictionary<string, string> Environment(YamlMappingNode service) =>
        service.Children.TryGetValue(new YamlScalarNode("environment"), out var env)
            ? ((YamlMappingNode)env).Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value ?? "")
            : new Dictionary<string, string>();

    public static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static string? Scalar(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;

    /// <summary>Every ${NAME...} reference in a text: name and whether it carries its own default (:- or -).</summary>
    public static IEnumerable<(string Name, bool HasDefault)> VariableReferences(string text) =>
        Interpolation().Matches(text).Select(m => (m.Groups["name"].Value, m.Groups["op"].Value is ":-" or "-"));

    /// <summary>Replaces ${NAME}, ${NAME:?msg}, ${NAME:-default} as compose does, from the given variables.</summary>
    public static string Interpolate(string text, IReadOnlyDictionary<string, string> variables) =>
        Interpolation().Replace(text, m =>
        {
            var name = m.Groups["name"].Value;
            if (variables.TryGetValue(name, out var value) && value.Length > 0)
                return value;
            return m.Groups["op"].Value is ":-" or "-"
                ? m.Groups["arg"].Value
                : throw new InvalidOperationException($"variable {name} is required and not set");
        });

    /// <summary>The users of definitions.json: name -> password hash (base64).</summary>
    public IReadOnlyDictionary<string, string> DefinitionUsers()
    {
        using var doc = JsonDocument.Parse(Text("rabbitmq/definitions.json"));
        return doc.RootElement.GetProperty("users").EnumerateArray()
            .ToDictionary(u => u.GetProperty("name").GetString()!, u => u.GetProperty("password_hash").GetString()!);
    }

    /// <summary>RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)), 4-byte salt.</summary>
    public static bool PasswordMatches(string passwordHash, string password)
    {
        var bytes = Convert.FromBase64String(passwordHash);
        if (bytes.Length != 4 + 32)
            return false;
        var salted = bytes[..4].Concat(Encoding.UTF8.GetBytes(password)).ToArray();
        return SHA256.HashData(salted).AsSpan().SequenceEqual(bytes.AsSpan(4));
    }

    private static YamlMappingNode Merged(YamlMappingNode node)
    {
        var merge = new YamlScalarNode("<<");
        if (!node.Children.TryGetValue(merge, out var baseNode))
            return node;
        var result = new YamlMappingNode();
        foreach (var (key, value) in ((YamlMappingNode)baseNode).Children)
            result.Children[key] = value;
        // Keys of the service itself win over the merged anchor's.
        foreach (var (key, value) in node.Children.Where(kv => !kv.Key.Equals(merge)))
            result.Children[key] = value;
        return result;
    }

    private static Dictionary<string, string> ReadEnvFile(string path) =>
        File.ReadAllLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:\?|\?|:-|-)(?<arg>[^}]*))?\}")]
    private static partial Regex Interpolation();
}
