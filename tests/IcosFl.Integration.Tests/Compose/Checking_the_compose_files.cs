using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace IcosFl.Integration.Tests.Compose;

/// <summary>
/// What can be checked of compose/ without a Docker engine: the files parse, every service is
/// configured through the environment variables the code actually reads, every required variable is
/// set, every referenced file exists, and the broker credentials agree with the broker's definitions.
/// </summary>
public sealed class Checking_the_compose_files
{
    private const string MainFile = "docker-compose.yml";
    private const string WorkerHostFile = "docker-compose.worker-host.yml";

    private readonly ComposeProject _compose = ComposeProject.Find();

    [Fact]
    public void The_controller_host_file_has_the_servers_the_controller_and_scalable_workers()
    {
        var services = _compose.Services(MainFile);

        Assert.Equal(["controller", "payload-redis", "rabbitmq", "redis", "seq", "worker"], services.Keys.Order());
        foreach (var (name, service) in services)
            Assert.True(ComposeProject.Scalar(service, "restart") == "unless-stopped", $"service {name} must restart unless-stopped");
        foreach (var name in new[] { "rabbitmq", "redis", "payload-redis", "controller", "worker" })
            Assert.True(ComposeProject.Child(services[name], "healthcheck") is YamlMappingNode, $"service {name} has no health check");

        // Scaling: a fixed container name, a host port or a fixed worker id would collide between replicas.
        var worker = services["worker"];
        Assert.Null(ComposeProject.Child(worker, "container_name"));
        Assert.Null(ComposeProject.Child(worker, "ports"));
        Assert.False(ComposeProject.Environment(worker).ContainsKey("ICOSFL_WORKER_ID"),
            "ICOSFL_WORKER_ID must stay unset for scaled workers: each replica then takes its container host name");

        var redisCommand = Command(services["redis"]);
        Assert.Equal("yes", redisCommand[redisCommand.IndexOf("--appendonly") + 1]);
        Assert.Contains(((YamlSequenceNode)ComposeProject.Child(services["redis"], "volumes")!).Select(n => ((YamlScalarNode)n).Value),
            v => v!.EndsWith(":/data", StringComparison.Ordinal));
        Assert.StartsWith("rabbitmq:", ComposeProject.Scalar(services["rabbitmq"], "image"));
        Assert.EndsWith("-management", ComposeProject.Scalar(services["rabbitmq"], "image"));
    }

    [Fact]
    public void Payloads_have_a_redis_of_their_own_without_persistence_that_refuses_writes_when_full()
    {
        var services = _compose.Services(MainFile);
        var payloads = services["payload-redis"];

        // The same server as the saga Redis, so the two behave alike apart from persistence.
        Assert.Equal(ComposeProject.Scalar(services["redis"], "image"), ComposeProject.Scalar(payloads, "image"));
        var command = Command(payloads);
        Assert.Equal("no", command[command.IndexOf("--appendonly") + 1]);
        Assert.Equal("", command[command.IndexOf("--save") + 1]);
        Assert.Equal("noeviction", command[command.IndexOf("--maxmemory-policy") + 1]);
        Assert.Equal("${ICOSFL_PAYLOAD_REDIS_PASSWORD:?set ICOSFL_PAYLOAD_REDIS_PASSWORD in compose/.env}", command[command.IndexOf("--requirepass") + 1]);
        Assert.Null(ComposeProject.Child(payloads, "volumes"));
        // The controller's private store (issue 16): no port published, so no worker host can reach it.
        Assert.Null(ComposeProject.Child(payloads, "ports"));

        var dependsOn = (YamlMappingNode)ComposeProject.Child(services["controller"], "depends_on")!;
        Assert.True(ComposeProject.Scalar((YamlMappingNode)ComposeProject.Child(dependsOn, "payload-redis")!, "condition") == "service_healthy",
            "the controller must wait for payload-redis to be healthy");
        // A worker reaches nothing but the broker: it waits for no Redis.
        var workerDependsOn = (YamlMappingNode)ComposeProject.Child(services["worker"], "depends_on")!;
        Assert.Null(ComposeProject.Child(workerDependsOn, "payload-redis"));
        Assert.Null(ComposeProject.Child(workerDependsOn, "redis"));
    }

    [Theory]
    [InlineData(MainFile, "controller", new[] { "ICOSFL_BROKER", "ICOSFL_REDIS", "ICOSFL_PAYLOAD_REDIS", "ICOSFL_SEQ_URL" }, new string[0])]
    [InlineData(MainFile, "worker", new[] { "ICOSFL_BROKER", "ICOSFL_SEQ_URL" }, new[] { "ICOSFL_REDIS", "ICOSFL_PAYLOAD_REDIS" })]
    [InlineData(WorkerHostFile, "worker", new[] { "ICOSFL_BROKER", "ICOSFL_SEQ_URL" }, new[] { "ICOSFL_REDIS", "ICOSFL_PAYLOAD_REDIS" })]
    public void Every_icosfl_service_sets_the_servers_it_uses_with_variables_the_code_reads(string file, string serviceName, string[] required, string[] absent)
    {
        var environment = ComposeProject.Environment(_compose.Services(file)[serviceName]);

        foreach (var name in required)
            Assert.True(environment.TryGetValue(name, out var value) && value.Length > 0, $"{file} {serviceName}: {name} is not set");
        // A worker reaches nothing but the broker: no Redis address, no Redis password.
        foreach (var name in absent)
            Assert.False(environment.ContainsKey(name), $"{file} {serviceName}: {name} must not be set");
        var readByCode = VariablesReadByTheCode();
        foreach (var name in environment.Keys.Where(n => n.StartsWith("ICOSFL_", StringComparison.Ordinal)))
            Assert.True(readByCode.Contains(name), $"{file} {serviceName}: {name} is read by no code under services/ or infra/ (a typo?)");
    }

    [Theory]
    [InlineData(MainFile)]
    [InlineData(WorkerHostFile)]
    public void Every_required_variable_is_set_in_the_env_file_or_documented_there(string file)
    {
        var references = ComposeProject.VariableReferences(_compose.Text(file)).ToList();
        Assert.NotEmpty(references);
        var envText = _compose.Text(".env");
        foreach (var (name, hasDefault) in references.Where(r => !r.HasDefault).Distinct())
        {
            // The controller host's address is per worker host: documented (commented) in .env, given by the shell.
            var documented = Regex.IsMatch(envText, $@"^#\s*{name}=", RegexOptions.Multiline);
            Assert.True(_compose.EnvFile.ContainsKey(name) || documented, $"{file}: ${{{name}}} is required but neither set nor documented in compose/.env");
        }
    }

    [Fact]
    public void Workers_connect_as_the_worker_user_and_the_controller_as_the_controller_user_with_passwords_matching_the_definitions()
    {
        var variables = new Dictionary<string, string>(_compose.EnvFile) { ["ICOSFL_CONTROLLER_HOST"] = "fl-controller.example.org" };
        var users = _compose.DefinitionUsers();
        var expected = new[]
        {
            (MainFile, "controller", "icosfl-controller", "rabbitmq"),
            (MainFile, "worker", "icosfl-worker", "rabbitmq"),
            (WorkerHostFile, "worker", "icosfl-worker", "fl-controller.example.org"),
        };
        foreach (var (file, service, user, host) in expected)
        {
            var broker = new Uri(ComposeProject.Interpolate(ComposeProject.Environment(_compose.Services(file)[service])["ICOSFL_BROKER"], variables));
            var (name, password) = (broker.UserInfo.Split(':')[0], Uri.UnescapeDataString(broker.UserInfo.Split(':')[1]));
            Assert.Equal(user, name);
            Assert.Equal(host, broker.Host);
            Assert.Equal("/icosfl", broker.AbsolutePath);
            Assert.True(ComposeProject.PasswordMatches(users[user], password),
                $"{file} {service}: the password of {user} does not match its hash in compose/rabbitmq/definitions.json (run compose/rabbitmq/set-passwords.sh)");
        }
        Assert.True(ComposeProject.PasswordMatches(users["icosfl-admin"], _compose.EnvFile["ICOSFL_ADMIN_PASSWORD"]));
        Assert.False(ComposeProject.PasswordMatches(users["icosfl-worker"], _compose.EnvFile["ICOSFL_CONTROLLER_PASSWORD"]));
    }

    [Fact]
    public void Only_the_controller_reaches_the_redis_servers_each_with_its_own_password()
    {
        var variables = new Dictionary<string, string>(_compose.EnvFile) { ["ICOSFL_CONTROLLER_HOST"] = "fl-controller.example.org" };
        string Setting(string file, string service, string name) =>
            ComposeProject.Interpolate(ComposeProject.Environment(_compose.Services(file)[service])[name], variables);

        Assert.Equal($"redis:6379,password={_compose.EnvFile["ICOSFL_REDIS_PASSWORD"]},abortConnect=false", Setting(MainFile, "controller", "ICOSFL_REDIS"));
        var payloads = $"password={_compose.EnvFile["ICOSFL_PAYLOAD_REDIS_PASSWORD"]},abortConnect=false";
        Assert.Equal($"payload-redis:6379,{payloads}", Setting(MainFile, "controller", "ICOSFL_PAYLOAD_REDIS"));
        // The workers hold neither address (Every_icosfl_service_sets_the_servers_it_uses_with_variables_the_code_reads).
        Assert.NotEqual(_compose.EnvFile["ICOSFL_REDIS_PASSWORD"], _compose.EnvFile["ICOSFL_PAYLOAD_REDIS_PASSWORD"]);
    }

    [Fact]
    public void Referenced_dockerfiles_mounted_files_and_copied_sources_exist()
    {
        foreach (var file in new[] { MainFile, WorkerHostFile })
        {
            foreach (var (name, service) in _compose.Services(file))
            {
                if (ComposeProject.Child(service, "build") is YamlMappingNode build)
                {
                    var context = Path.GetFullPath(Path.Combine(_compose.Folder, ComposeProject.Scalar(build, "context")!));
                    Assert.Equal(_compose.RepositoryRoot.TrimEnd('/'), context.TrimEnd('/'));
                    Assert.True(File.Exists(Path.Combine(context, ComposeProject.Scalar(build, "dockerfile")!)), $"{file} {name}: Dockerfile missing");
                }
                if (ComposeProject.Child(service, "volumes") is YamlSequenceNode volumes)
                {
                    foreach (var source in volumes.Select(v => ((YamlScalarNode)v).Value!.Split(':')[0]).Where(s => s.StartsWith('.')))
                        Assert.True(File.Exists(Path.Combine(_compose.Folder, source)), $"{file} {name}: mounted file {source} missing");
                }
            }
        }

        var dockerfile = _compose.Text("Dockerfile");
        var copies = Regex.Matches(dockerfile, @"^COPY (?!--from)(?<args>.+)$", RegexOptions.Multiline);
        Assert.True(copies.Count >= 5, "the Dockerfile copies the sources");
        foreach (Match copy in copies)
        {
            var parts = copy.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[..^1])
                Assert.True(File.Exists(Path.Combine(_compose.RepositoryRoot, source)) || Directory.Exists(Path.Combine(_compose.RepositoryRoot, source)),
                    $"Dockerfile: COPY source {source} does not exist in the repository");
        }
        // The service image is the one the compose files name, built from this Dockerfile.
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/icosfl.dll\"]", dockerfile);
        Assert.Contains("AS build", dockerfile);
        Assert.Contains("--from=build", dockerfile);
    }

    private static List<string?> Command(YamlMappingNode service) =>
        ((YamlSequenceNode)ComposeProject.Child(service, "command")!).Select(n => ((YamlScalarNode)n).Value).ToList();

    private HashSet<string> VariablesReadByTheCode() =>
        Directory.EnumerateFiles(Path.Combine(_compose.RepositoryRoot, "services"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(_compose.RepositoryRoot, "infra"), "*.cs", SearchOption.AllDirectories))
            .Where(p => !p.Contains("/obj/", StringComparison.Ordinal) && !p.Contains("/bin/", StringComparison.Ordinal))
            .SelectMany(p => Regex.Matches(File.ReadAllText(p), "\"(ICOSFL_[A-Z_]+)\"").Select(m => m.Groups[1].Value))
            .ToHashSet();
}
