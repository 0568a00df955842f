namespace IcosFl.Dashboard.Tests;

public sealed class ParsingTheHttpOption
{
    [Theory]
    [InlineData("127.0.0.1:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://0.0.0.0:9000", "http://0.0.0.0:9000/")]
    [InlineData("localhost:8081/", "http://localhost:8081/")]
    [InlineData("127.0.0.1:0", "http://127.0.0.1:0/")]
    [InlineData("[::1]:8080", "http://[::1]:8080/")]
    public void Should_read_an_address(string text, string expected) =>
        Assert.Equal(new Uri(expected), DashboardEndpoint.Parse(text));

    [Theory]
    [InlineData("off")]
    [InlineData("OFF")]
    [InlineData("none")]
    public void Should_read_off_as_no_dashboard(string text) => Assert.Null(DashboardEndpoint.Parse(text));

    [Theory]
    [InlineData("127.0.0.1", "--http 127.0.0.1: no port; give HOST:PORT (e.g. 127.0.0.1:8080), or HOST:0 for any free port")]
    [InlineData("127.0.0.1:99999", "--http 127.0.0.1:99999: not an address; give HOST:PORT (e.g. 127.0.0.1:8080) or off")]
    [InlineData("https://host:8443", "--http https://host:8443: only plain http is served; put a TLS proxy in front, or give http://HOST:PORT")]
    [InlineData("127.0.0.1:8080/dash", "--http 127.0.0.1:8080/dash: give HOST:PORT only, without a path")]
    [InlineData("", "--http is empty; give HOST:PORT (e.g. 127.0.0.1:8080) or off")]
    public void Should_refuse_what_is_not_an_address_saying_why(string text, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => DashboardEndpoint.Parse(text)).Message);
}
