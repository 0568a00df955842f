using System.Text.Json;
using IcosFl.Controller.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IcosFl.Dashboard;

/// <summary>The pages and the JSON API (documented in the README, "Dashboard and HTTP API").</summary>
public static class DashboardApi
{
    /// <summary>How long a live view waits without events before it looks again (heartbeats go stale by time alone).</summary>
    public static readonly TimeSpan LiveRefresh = TimeSpan.FromSeconds(5);

    public static void Map(WebApplication app, DashboardOptions options, FederationStatusReader reader,
        FederationMetrics metrics, FederationActivity activity, PredictionsApi predictions, ForecastApi forecasts)
    {
        // Redis down, a saga that cannot be read: the API says so in JSON rather than an empty 500.
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (e is not OperationCanceledException && context.Request.Path.StartsWithSegments("/api") &&
                                      !context.Response.HasStarted)
            {
                context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DashboardApi))
                    .LogWarning(e, "Dashboard API {Path} failed", context.Request.Path.Value);
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsJsonAsync(new ApiError($"cannot read the federations' state: {e.Message}"));
            }
        });

        app.MapGet("/", () => DashboardAssets.Serve("index.html"));
        app.MapGet("/federations/{id}", (string id) => DashboardAssets.Serve("federation.html"));
        app.MapGet("/assets/{name}", (string name) => DashboardAssets.Serve(name));

        var api = app.MapGroup("/api");
        api.MapGet("/info", () => Results.Ok(new DashboardInfo(options.Mode, options.SeqUrl?.TrimEnd('/'))));
        api.MapGet("/federations", async () => Results.Ok(await reader.ListAsync()));
        api.MapGet("/federations/{id}", async (string id) =>
        {
            if (ParseId(id) is not { } federationId)
                return BadId(id);
            return await reader.GetAsync(federationId) is { } status ? Results.Ok(status) : NoSuchFederation(federationId);
        });
        api.MapGet("/federations/{id}/evaluations", async (string id) =>
        {
            if (ParseId(id) is not { } federationId)
                return BadId(id);
            return await forecasts.EvaluationsAsync(federationId) is { } evaluations ? Results.Ok(evaluations) : NoSuchFederation(federationId);
        });
        api.MapGet("/federations/{id}/forecast", async (string id, HttpRequest request, CancellationToken ct) =>
        {
            if (ParseId(id) is not { } federationId)
                return BadId(id);
            int? points = null;
            if (request.Query.TryGetValue("points", out var text))
            {
                if (text.Count != 1 || !int.TryParse(text[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ||
                    n is < 1 or > ForecastApi.MaxPoints)
                    return Results.BadRequest(new ApiError($"points must be given once, a whole number from 1 to {ForecastApi.MaxPoints}, got '{text}'"));
                points = n;
            }
            return await forecasts.ForecastAsync(federationId, points, ct) is { } forecast ? Results.Ok(forecast) : NoSuchFederation(federationId);
        });
        api.MapGet("/federations/{id}/rounds/{round}/timeline", async (string id, string round) =>
        {
            if (ParseId(id) is not { } federationId)
                return BadId(id);
            if (!int.TryParse(round, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                return Results.BadRequest(new ApiError($"round must be a round number from 1, got '{round}'"));
            return await reader.TimelineAsync(federationId, n) is { } timeline
                ? Results.Ok(timeline)
                : Results.NotFound(new ApiError($"federation {federationId} has no round {n} (or no such federation)"));
        });
        api.MapGet("/federations/{id}/events", (string id, HttpContext context) => StreamAsync(id, context, reader, activity));
        api.MapGet("/workers", async () => Results.Ok(await reader.WorkersAsync()));
        api.MapGet("/predictions", (HttpRequest request, CancellationToken ct) => predictions.GetAsync(request, ct));
        api.MapFallback((HttpContext context) =>
            Results.NotFound(new ApiError($"no such API endpoint: {context.Request.Method} {context.Request.Path}; " +
                                          "see /api/federations, /api/federations/{id}, /api/federations/{id}/events, /api/federations/{id}/evaluations, " +
                                          "/api/federations/{id}/forecast, /api/workers, /api/predictions")));

        // The workers-alive gauge reads the registry just before each scrape.
        app.Use(async (context, next) =>
        {
            if (context.Request.Path == "/metrics")
                metrics.WorkersAlive((await reader.WorkersAsync()).Count(w => w.Alive));
            await next(context);
        });
    }

    /// <summary>
    /// Server-sent events: the federation's status as one JSON document, sent at once and again after
    /// every event that changes it (and at least every <see cref="LiveRefresh"/> if it changed by time).
    /// </summary>
    private static async Task StreamAsync(string id, HttpContext context, FederationStatusReader reader, FederationActivity activity)
    {
        if (ParseId(id) is not { } federationId)
        {
            await BadId(id).ExecuteAsync(context);
            return;
        }
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var first = await reader.GetAsync(federationId);
        if (first is null)
        {
            await NoSuchFederation(federationId).ExecuteAsync(context);
            return;
        }
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var ct = context.RequestAborted;
        string? sent = null;
        try
        {
            var status = first;
            while (!ct.IsCancellationRequested)
            {
                var seen = activity.Version;
                var text = JsonSerializer.Serialize(status, json);
                if (text != sent)
                {
                    await context.Response.WriteAsync($"event: status\ndata: {text}\n\n", ct);
                    sent = text;
                }
                else
                {
                    // A comment line keeps proxies from closing an idle stream.
                    await context.Response.WriteAsync(": idle\n\n", ct);
                }
                await context.Response.Body.FlushAsync(ct);
                await activity.WaitAsync(seen, LiveRefresh, ct);
                status = await reader.GetAsync(federationId) ?? status;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The browser went away.
        }
    }

    private static Guid? ParseId(string id) => Guid.TryParse(id, out var g) ? g : null;

    private static IResult BadId(string id) =>
        Results.BadRequest(new ApiError($"'{id}' is not a federation id; a federation id is a GUID such as 7d0c2d4e-3b1a-4f7e-9a51-0c6e2d9b8f10"));

    private static IResult NoSuchFederation(Guid id) => Results.NotFound(new ApiError($"no federation {id}"));
}

public sealed record DashboardInfo(string Mode, string? SeqUrl);

public sealed record ApiError(string Error);
