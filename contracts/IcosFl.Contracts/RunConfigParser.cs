using System.Globalization;
using System.Text;

namespace IcosFl.Contracts;

/// <summary>
/// Reads run configurations the way Flower's <c>--run-config</c> takes them
/// ("num-server-rounds=20 metric=\"memory_usage\"") and checks them, naming the key and what it accepts.
/// </summary>
public static class RunConfigParser
{
    /// <summary>
    /// Parses "key=value" entries separated by whitespace, commas or newlines (values may be quoted as in
    /// TOML: metric="memory_usage" or 'memory_usage'; '#' starts a comment), applies them on top of
    /// <paramref name="baseConfig"/> (default <see cref="RunConfig.Default"/>), then validates.
    /// </summary>
    /// <exception cref="RunConfigException">On the first problem found.</exception>
    public static RunConfig Parse(string? text, RunConfig? baseConfig = null)
    {
        var entries = Tokenize(text ?? string.Empty);
        var config = ApplyEntries(baseConfig ?? RunConfig.Default, entries, unquote: false);

        // Quote a rejected value as it was typed ("2.50"), not as the number it became ("2.5").
        var given = entries.ToDictionary(e => RunConfigKeys.Find(e.Key)!.Name, e => e.Value.Trim());
        var first = Problems(config, given).FirstOrDefault();
        return first is null ? config : throw new RunConfigException(first.Key, first.Message);
    }

    /// <summary>
    /// Sets each key (kebab-case or snake_case) from its text on top of <paramref name="baseConfig"/>.
    /// Checks that keys exist, appear once and that values have the key's type; ranges are left to
    /// <see cref="Validate"/>.
    /// </summary>
    /// <exception cref="RunConfigException">On an unknown or repeated key, or a value of the wrong type.</exception>
    public static RunConfig Apply(RunConfig baseConfig, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        ArgumentNullException.ThrowIfNull(baseConfig);
        ArgumentNullException.ThrowIfNull(pairs);
        return ApplyEntries(baseConfig, pairs, unquote: true);
    }

    private static RunConfig ApplyEntries(RunConfig baseConfig, IEnumerable<KeyValuePair<string, string>> pairs, bool unquote)
    {
        var config = baseConfig;
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (given, rawValue) in pairs)
        {
            var key = RunConfigKeys.Find(given ?? string.Empty) ?? throw UnknownKey(given ?? string.Empty);
            if (!seen.TryAdd(key.Name, given!))
            {
                throw new RunConfigException(key.Name,
                    $"run-config key '{key.Name}' is given twice (as '{seen[key.Name]}' and '{given}')");
            }

            var value = (rawValue ?? string.Empty).Trim();
            value = unquote ? Unquote(value) : value;
            config = key.TryApply(config, value) ?? throw new RunConfigException(key.Name, key.Problem(value));
        }

        return config;
    }

    /// <summary>All problems of a config (for validating StartFederation); empty when it is valid.</summary>
    public static IReadOnlyList<RunConfigError> Validate(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Problems(config, new Dictionary<string, string>()).ToList();
    }

    /// <summary>Every key in kebab-case with its value as an invariant-culture string that parses back.</summary>
    public static IReadOnlyDictionary<string, string> ToDictionary(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var values = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in RunConfigKeys.All)
        {
            values.Add(key.Name, key.ValueOf(config));
        }

        return values;
    }

    private static IEnumerable<RunConfigError> Problems(RunConfig config, IReadOnlyDictionary<string, string> given)
    {
        foreach (var key in RunConfigKeys.All)
        {
            if (!key.IsValid(config))
            {
                yield return new RunConfigError(key.Name, key.Problem(config, given.GetValueOrDefault(key.Name) ?? key.ValueOf(config)));
            }
        }

        // MultiKrum averages the num-clients-to-keep lowest-scoring updates: 0 would average none.
        if (string.Equals(config.Strategy?.Trim(), Strategies.MultiKrum, StringComparison.OrdinalIgnoreCase) && config.NumClientsToKeep < 1)
        {
            yield return new RunConfigError(RunConfigKeys.NumClientsToKeep,
                $"run-config key '{RunConfigKeys.NumClientsToKeep}': strategy {Strategies.MultiKrum} needs it >= 1 (how many lowest-score updates " +
                $"to average; krum keeps one), got {config.NumClientsToKeep}");
        }

        // Noise is scaled by clip-norm: without clipping it would silently add nothing.
        if (config.NoiseMultiplier > 0 && config.ClipNorm <= 0)
        {
            yield return new RunConfigError(RunConfigKeys.NoiseMultiplier,
                $"run-config key '{RunConfigKeys.NoiseMultiplier}': needs {RunConfigKeys.ClipNorm} > 0 (the noise is scaled by it), " +
                $"got {RunConfigKeys.NoiseMultiplier}={RunConfigKeys.Find(RunConfigKeys.NoiseMultiplier)!.ValueOf(config)} " +
                $"with {RunConfigKeys.ClipNorm}={RunConfigKeys.Find(RunConfigKeys.ClipNorm)!.ValueOf(config)}");
        }
    }

    private static RunConfigException UnknownKey(string given)
    {
        var suggestion = Closest(given);
        var hint = suggestion is null ? string.Empty : $" (did you mean '{suggestion}'?)";
        return new RunConfigException(given,
            $"unknown run-config key '{given}'{hint}; known keys: {string.Join(", ", RunConfigKeys.All.Select(k => k.Name))}");
    }

    /// <summary>
    /// The known key a mistyped one most likely meant: a near spelling (fraction-fti), else the key that
    /// holds all its words (num-rounds: num-server-rounds), else an acronym (lr: learning-rate).
    /// </summary>
    internal static string? Closest(string given)
    {
        var wanted = RunConfigKeys.Normalize(given);
        if (wanted.Length == 0)
        {
            return null;
        }

        var names = RunConfigKeys.All.Select(k => k.Name).ToList();
        var nearest = names.Select(n => (Name: n, Distance: Levenshtein(wanted, n))).MinBy(x => x.Distance);
        if (nearest.Distance <= Math.Max(1, wanted.Length / 4))
        {
            return nearest.Name;
        }

        var words = wanted.Split('-', StringSplitOptions.RemoveEmptyEntries);
        var holding = names
            .Select(n => (Name: n, Words: n.Split('-')))
            .Where(n => words.All(w => n.Words.Any(known => SameWord(w, known))))
            .OrderByDescending(n => words.Count(n.Words.Contains)) // exact words first: rounds is num-server-rounds, not round-timeout
            .ThenBy(n => n.Words.Length)
            .Select(n => n.Name)
            .FirstOrDefault();
        if (holding is not null)
        {
            return holding;
        }

        var letters = wanted.Replace("-", string.Empty, StringComparison.Ordinal);
        return names.FirstOrDefault(n => n.Contains('-') && string.Concat(n.Split('-').Select(w => w[0])) == letters);
    }

    private static bool SameWord(string typed, string known) =>
        typed == known || (typed.Length >= 4 && Levenshtein(typed, known) <= 1);

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>Strips one pair of matching quotes from a value given through <see cref="Apply"/>.</summary>
    private static string Unquote(string value) =>
        value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0] ? value[1..^1] : value;

    private static bool IsSeparator(char c) => char.IsWhiteSpace(c) || c == ',';

    /// <summary>Splits the text into key=value entries; quoted values keep their separators.</summary>
    private static List<KeyValuePair<string, string>> Tokenize(string text)
    {
        var entries = new List<KeyValuePair<string, string>>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && IsSeparator(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                return entries;
            }

            if (text[i] == '#')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            var keyStart = i;
            while (i < text.Length && text[i] != '=' && !IsSeparator(text[i]))
            {
                i++;
            }

            var key = text[keyStart..i];
            while (i < text.Length && text[i] is ' ' or '\t')
            {
                i++;
            }

            if (key.Length == 0)
            {
                throw new RunConfigException(string.Empty, $"run-config entry at character {keyStart + 1} has no key before '='");
            }

            if (i >= text.Length || text[i] != '=')
            {
                if (double.TryParse(key, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    throw new RunConfigException(key,
                        $"run-config entry '{key}' is a number without a key: write key=VALUE, with '.' for decimals (0.5, not 0,5)");
                }

                throw RunConfigKeys.Find(key) is null
                    ? UnknownKey(key)
                    : new RunConfigException(RunConfigKeys.Find(key)!.Name, $"run-config key '{key}' has no value: write {key}=VALUE");
            }

            i++; // '='
            while (i < text.Length && text[i] is ' ' or '\t')
            {
                i++;
            }

            string value;
            if (i < text.Length && text[i] is '"' or '\'')
            {
                value = ReadQuoted(text, ref i, key);
                if (i < text.Length && !IsSeparator(text[i]) && text[i] != '#')
                {
                    throw new RunConfigException(KeyName(key), $"run-config key '{key}': unexpected '{text[i]}' after the closing quote");
                }
            }
            else
            {
                var valueStart = i;
                while (i < text.Length && !IsSeparator(text[i]))
                {
                    i++;
                }

                value = text[valueStart..i];
                if (value.Contains('='))
                {
                    // "input-metrics= seed=7": the key's value is empty and what follows is the next entry.
                    value = string.Empty;
                    i = valueStart;
                }
                else if (KeyName(key) == RunConfigKeys.InputMetrics)
                {
                    value += ReadListContinuation(text, ref i);
                }
            }

            entries.Add(KeyValuePair.Create(key, value));
        }
    }

    /// <summary>
    /// The rest of an unquoted list (input-metrics=memory_usage,power_consumption): commas separate entries elsewhere,
    /// so a following name joins the list as long as it is not itself key=value.
    /// </summary>
    private static string ReadListContinuation(string text, ref int i)
    {
        var rest = new StringBuilder();
        while (i < text.Length && text[i] == ',')
        {
            var start = i + 1;
            while (start < text.Length && text[start] is ' ' or '\t')
            {
                start++;
            }

            var end = start;
            while (end < text.Length && !IsSeparator(text[end]))
            {
                end++;
            }

            var name = text[start..end];
            if (name.Length == 0 || name.Contains('=') || name[0] == '#')
            {
                break;
            }

            rest.Append(',').Append(name);
            i = end;
        }

        return rest.ToString();
    }

    /// <summary>A TOML string: "basic" with \" \\ \n \t escapes, or 'literal' with none.</summary>
    private static string ReadQuoted(string text, ref int i, string key)
    {
        var quote = text[i++];
        var value = new StringBuilder();
        while (i < text.Length && text[i] != quote)
        {
            if (quote == '"' && text[i] == '\\' && i + 1 < text.Length)
            {
                i++;
                value.Append(text[i] switch
                {
                    'n' => '\n',
                    't' => '\t',
                    _ => text[i],
                });
            }
            else
            {
                value.Append(text[i]);
            }

            i++;
        }

        if (i >= text.Length)
        {
            throw new RunConfigException(KeyName(key), $"run-config key '{key}': the value's {quote} quote is never closed");
        }

        i++; // closing quote
        return value.ToString();
    }

    private static string KeyName(string given) => RunConfigKeys.Find(given)?.Name ?? given;
}
