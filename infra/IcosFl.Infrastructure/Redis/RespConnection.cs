using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace IcosFl.Infrastructure.Redis;

/// <summary>
/// The claim-check store's own connections to a plain Redis, for moving chunks: commands written in RESP straight
/// from the chunk buffers (no copy into a client-side pipe), replies read into one small buffer and handed on from
/// there. StackExchange.Redis multiplexes many small commands well, but for megabyte values it copies each one into
/// its pipe and out again and runs every command through its backlog: with four 10 MB payloads written and read at
/// once on 2 cores, it took about twice as long as these connections (docs/benchmarks.md).
/// Created only for what these connections speak: one endpoint, no TLS, no Sentinel, no proxy (see <see cref="TryCreate"/>).
/// A connection serves one payload at a time and goes back to the pool only with every reply read.
/// </summary>
internal sealed class RespConnectionPool(EndPoint endPoint, string? user, string? password, int database, string clientName,
    TimeSpan connectTimeout, TimeSpan timeout) : IDisposable
{
    private const int MaxIdle = 16;

    private readonly ConcurrentBag<RespConnection> idle = [];
    private volatile bool disposed;

    public EndPoint EndPoint => endPoint;
    public string? User => user;
    public string? Password => password;
    public int Database => database;
    public string ClientName => clientName;
    public TimeSpan ConnectTimeout => connectTimeout;

    /// <summary>How long a write may block, or a reply take to arrive whole, before the operation fails (the multiplexer's async timeout).</summary>
    public TimeSpan Timeout => timeout;

    /// <summary>"payload Redis host:port", for messages.</summary>
    public string Where { get; } = $"payload Redis {EndPointCollection.ToString(endPoint)}";

    /// <summary>
    /// Connections to the Redis <paramref name="redis"/> is configured for, with its credentials, database, client name
    /// and timeouts; null when its configuration needs what only StackExchange.Redis does (TLS, several endpoints,
    /// Sentinel, a proxy or tunnel, renamed commands, a Unix socket).
    /// </summary>
    public static RespConnectionPool? TryCreate(IConnectionMultiplexer redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var options = ConfigurationOptions.Parse(redis.Configuration);
        if (options.Ssl || options.EndPoints.Count != 1 || options.Proxy != Proxy.None || !string.IsNullOrEmpty(options.ServiceName)
            || options.Tunnel is not null || !ReferenceEquals(options.CommandMap, CommandMap.Default))
            return null;
        var endPoint = options.EndPoints[0] switch
        {
            DnsEndPoint { Port: 0 } dns => new DnsEndPoint(dns.Host, 6379),
            IPEndPoint { Port: 0 } ip => new IPEndPoint(ip.Address, 6379),
            DnsEndPoint or IPEndPoint => options.EndPoints[0],
            _ => null,
        };
        if (endPoint is null)
            return null;
        var name = string.IsNullOrWhiteSpace(options.ClientName) ? "icosfl" : options.ClientName;
        return new RespConnectionPool(endPoint, options.User, options.Password, options.DefaultDatabase ?? 0,
            $"{name.Replace(' ', '-')}-payloads", TimeSpan.FromMilliseconds(options.ConnectTimeout), TimeSpan.FromMilliseconds(options.AsyncTimeout));
    }

    /// <summary>An idle connection still open, else a new one (connected, authenticated, database selected).</summary>
    public async ValueTask<RespConnection> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        while (idle.TryTake(out var connection))
        {
            if (connection.Reusable)
                return connection;
            connection.Dispose();
        }

        return await RespConnection.OpenAsync(this, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Back to the pool if it is clean (every reply read, nothing failed), else closed.</summary>
    public void Return(RespConnection connection)
    {
        if (disposed || !connection.Reusable || idle.Count >= MaxIdle)
        {
            connection.Dispose();
            return;
        }

        idle.Add(connection);
        // Disposed meanwhile: what Dispose emptied before this Add is closed, this one too.
        if (disposed)
            Dispose();
    }

    public void Dispose()
    {
        disposed = true;
        while (idle.TryTake(out var connection))
            connection.Dispose();
    }
}

/// <summary>
/// One connection speaking RESP 2: commands written whole (a value from the caller's memory as it is), replies
/// read in order. Not thread-safe beyond one writer and one reader at a time. Failures are StackExchange.Redis's
/// exception types, as the multiplexer would throw them, so callers need not tell the two apart.
/// </summary>
internal sealed class RespConnection : IDisposable
{
    private const int InputBytes = 256 * 1024;
    private const int LongestLine = 4096;

    private readonly Socket socket;
    private readonly RespConnectionPool pool;
    // Not pooled: a read still in flight when the connection is disposed may go on writing into it.
    private readonly byte[] input = new byte[InputBytes];
    private int start, end;
    // When the reply being read must have arrived (Environment.TickCount64): one timeout per reply, as the multiplexer
    // has one per command, so that a server trickling bytes cannot hold a read for good.
    private long replyDeadline;
    private int disposed;

    private RespConnection(Socket socket, RespConnectionPool pool)
    {
        this.socket = socket;
        this.pool = pool;
    }

    /// <summary>Set once anything failed: the connection's state is unknown and it must not serve again.</summary>
    public bool Broken { get; private set; }

    /// <summary>Every reply read, nothing failed, and the server has not closed it (a restarted Redis closes its connections).</summary>
    public bool Reusable => !Broken && Volatile.Read(ref disposed) == 0 && start == end && !socket.Poll(0, SelectMode.SelectRead);

    public static async Task<RespConnection> OpenAsync(RespConnectionPool pool, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            SendTimeout = (int)Math.Min(int.MaxValue, pool.Timeout.TotalMilliseconds),
        };
        try
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timer.CancelAfter(pool.ConnectTimeout);
            await socket.ConnectAsync(pool.EndPoint, timer.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            var reason = e is SocketException ? e.Message : $"no answer within {pool.ConnectTimeout.TotalMilliseconds:0} ms";
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"{pool.Where}: cannot connect for claim-check chunks ({reason})", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RespConnection(socket, pool);
        try
        {
            var handshake = new List<(string What, string[] Command)>();
            if (pool.Password is not null)
                handshake.Add(("AUTH", pool.User is null ? ["AUTH", pool.Password] : ["AUTH", pool.User, pool.Password]));
            if (pool.Database != 0)
                handshake.Add(("SELECT", ["SELECT", pool.Database.ToString(CultureInfo.InvariantCulture)]));
            handshake.Add(("CLIENT SETNAME", ["CLIENT", "SETNAME", pool.ClientName]));
            connection.Send(handshake.Select(h => h.Command));
            foreach (var (what, _) in handshake)
            {
                try
                {
                    await connection.ReadOkAsync(what, cancellationToken).ConfigureAwait(false);
                }
                catch (RedisServerException e) when (what == "AUTH" || e.Message.Contains(": NOAUTH", StringComparison.Ordinal))
                {
                    throw new RedisConnectionException(ConnectionFailureType.AuthenticationFailure, e.Message, e);
                }
                catch (RedisServerException) when (what == "CLIENT SETNAME")
                {
                    // Only a name for CLIENT LIST: a user without the permission (as the multiplexer, which goes on
                    // without it) still moves chunks.
                }
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>SET key value PX ttl, the value written from <paramref name="value"/> as it is. Blocks until the socket has taken it.</summary>
    public void SendSet(string key, ReadOnlyMemory<byte> value, long timeToLiveMs)
    {
        var head = Encoding.ASCII.GetBytes($"*5\r\n$3\r\nSET\r\n${Encoding.UTF8.GetByteCount(key)}\r\n");
        var name = Encoding.UTF8.GetBytes(key);
        var ttl = timeToLiveMs.ToString(CultureInfo.InvariantCulture);
        var middle = Encoding.ASCII.GetBytes($"\r\n${value.Length}\r\n");
        var tail = Encoding.ASCII.GetBytes($"\r\n$2\r\nPX\r\n${ttl.Length}\r\n{ttl}\r\n");
        var data = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(value, out var segment)
            ? segment
            : new ArraySegment<byte>(value.ToArray());
        Write([head, name, middle, data, tail], $"SET {key}");
    }

    /// <summary>Commands without a value, written in one go (pipelined).</summary>
    public void Send(IEnumerable<string[]> commands)
    {
        var text = new StringBuilder();
        foreach (var command in commands)
        {
            text.Append('*').Append(command.Length).Append("\r\n");
            foreach (var argument in command)
                text.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        Write([new ArraySegment<byte>(Encoding.UTF8.GetBytes(text.ToString()))], "commands");
    }

    public void SendGet(string key) => Send([["GET", key]]);

    private void Write(IList<ArraySegment<byte>> buffers, string what)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        try
        {
            socket.Send(buffers);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            Broken = true;
            throw new RedisTimeoutException(
                $"{pool.Where}: writing {what} did not finish within {pool.Timeout.TotalMilliseconds:0} ms (the server stopped reading)", CommandStatus.WaitingToBeSent);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Broken = true;
            throw new RedisConnectionException(ConnectionFailureType.SocketFailure, $"{pool.Where}: connection lost while writing {what} ({e.Message})", e);
        }
    }

    /// <summary>The next reply must be +OK; an error reply is thrown as the server's message.</summary>
    public async ValueTask ReadOkAsync(string what, CancellationToken cancellationToken)
    {
        BeginReply();
        var line = await ReadLineAsync(what, cancellationToken).ConfigureAwait(false);
        if (line != "+OK")
            throw Unexpected(what, line, "+OK");
    }

    /// <summary>The length of the next reply, a bulk string whose bytes follow (<see cref="ReadBulkBodyAsync"/>), or -1 when it is nil.</summary>
    public async ValueTask<long> ReadBulkLengthAsync(string what, CancellationToken cancellationToken)
    {
        BeginReply();
        var line = await ReadLineAsync(what, cancellationToken).ConfigureAwait(false);
        if (line.Length > 1 && line[0] == '$' && long.TryParse(line.AsSpan(1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var length) && length >= -1)
            return length;
        throw Unexpected(what, line, "a bulk string");
    }

    /// <summary>The next reply must arrive, whole, within the timeout from now (its bulk bytes included).</summary>
    private void BeginReply() => replyDeadline = Environment.TickCount64 + (long)pool.Timeout.TotalMilliseconds;

    /// <summary>The <paramref name="length"/> bytes of a bulk string, handed to <paramref name="arrived"/> as they arrive, and its closing CRLF.</summary>
    public async ValueTask ReadBulkBodyAsync(long length, Action<ReadOnlySpan<byte>> arrived, string what, CancellationToken cancellationToken)
    {
        var left = length;
        while (left > 0)
        {
            if (start == end)
                await FillAsync(what, cancellationToken).ConfigureAwait(false);
            var piece = (int)Math.Min(left, end - start);
            var at = start;
            start += piece;
            left -= piece;
            arrived(input.AsSpan(at, piece));
        }

        while (end - start < 2)
            await FillAsync(what, cancellationToken).ConfigureAwait(false);
        if (input[start] != '\r' || input[start + 1] != '\n')
        {
            Broken = true;
            throw new RedisConnectionException(ConnectionFailureType.ProtocolFailure, $"{pool.Where}: {what}: a bulk string of {length} bytes was not followed by CRLF");
        }

        start += 2;
    }

    private Exception Unexpected(string what, string line, string expected)
    {
        if (line.StartsWith('-'))
            return new RedisServerException($"{pool.Where}: {what}: {line[1..]}"); // the connection is still in step
        Broken = true;
        return new RedisConnectionException(ConnectionFailureType.ProtocolFailure,
            $"{pool.Where}: {what}: expected {expected}, got '{(line.Length > 80 ? line[..80] + "..." : line)}'");
    }

    private async ValueTask<string> ReadLineAsync(string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            var at = input.AsSpan(start, end - start).IndexOf("\r\n"u8);
            if (at >= 0)
            {
                var line = Encoding.UTF8.GetString(input, start, at);
                start += at + 2;
                return line;
            }

            if (end - start > LongestLine)
            {
                Broken = true;
                throw new RedisConnectionException(ConnectionFailureType.ProtocolFailure, $"{pool.Where}: {what}: a reply line longer than {LongestLine} bytes");
            }

            await FillAsync(what, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>More bytes from the socket after those not yet consumed; fails on a closed connection or after the timeout.</summary>
    private async ValueTask FillAsync(string what, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        if (start == end)
        {
            start = end = 0;
        }
        else if (end == input.Length)
        {
            Buffer.BlockCopy(input, start, input, 0, end - start);
            end -= start;
            start = 0;
        }

        int received;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, replyDeadline - Environment.TickCount64)));
        try
        {
            received = await socket.ReceiveAsync(input.AsMemory(end), SocketFlags.None, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Broken = true;
            throw new RedisTimeoutException($"{pool.Where}: no reply to {what} within {pool.Timeout.TotalMilliseconds:0} ms", CommandStatus.Sent);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Broken = true;
            throw new RedisConnectionException(ConnectionFailureType.SocketFailure, $"{pool.Where}: connection lost while reading {what} ({e.Message})", e);
        }
        catch
        {
            Broken = true;
            throw;
        }

        if (received == 0)
        {
            Broken = true;
            throw new RedisConnectionException(ConnectionFailureType.SocketClosed, $"{pool.Where}: the server closed the connection while {what} was being read");
        }

        end += received;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
            return;
        Broken = true;
        socket.Dispose();
    }
}
