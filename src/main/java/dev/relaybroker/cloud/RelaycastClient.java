package dev.relaybroker.cloud;

import dev.relaybroker.bus.BrokerFailure;
import dev.relaybroker.bus.FailureCause;
import dev.relaybroker.BrokerVersion;
import dev.relaybroker.config.CloudOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Typed calls to the Relaycast cloud API (SPEC §1). It knows HTTP and the envelope; it never decides policy
 * (whether to reclaim, retry or give up): every outcome other than a decoded success is a {@link BrokerFailure}
 * made in {@link #decode} or {@link #transportFailure}, and the identity flow decides what it means.
 */
public class RelaycastClient {
  private static final long MAX_RETRY_AFTER_MS = Duration.ofMinutes(10).toMillis();

  private final WebClient web;
  private final String baseUrl;
  private final long requestTimeoutMs;
  private final CloudCallObserver observer;

  public RelaycastClient(Vertx vertx, String baseUrl, CloudOptions options) {
    this(vertx, baseUrl, options, CloudCallObserver.NONE);
  }

  /** @param observer told of every call once it ended (metrics) */
  public RelaycastClient(Vertx vertx, String baseUrl, CloudOptions options, CloudCallObserver observer) {
    this.observer = observer;
    this.web = WebClient.create(vertx, new WebClientOptions()
      .setConnectTimeout(options.getConnectTimeoutMs())
      .setKeepAlive(true)
      .setUserAgent(BrokerVersion.NAME + "/" + BrokerVersion.VERSION)
      .setFollowRedirects(false));
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.requestTimeoutMs = options.getRequestTimeoutMs();
  }

  public String baseUrl() {
    return baseUrl;
  }

  public Future<CreatedWorkspace> createWorkspace(String name) {
    return call("create_workspace", HttpMethod.POST, "/v1/workspaces", null, new JsonObject().put("name", name), RelaycastClient::createdWorkspace);
  }

  public Future<Registration> register(String workspaceKey, String name, JsonObject metadata) {
    JsonObject body = new JsonObject().put("name", name).put("type", "agent");
    if (metadata != null) {
      body.put("metadata", metadata);
    }
    return call("register", HttpMethod.POST, "/v1/agents", workspaceKey, body, data -> registration(data, name));
  }

  public Future<AgentRecord> getAgent(String workspaceKey, String name) {
    return call("get_agent", HttpMethod.GET, "/v1/agents/" + encodeSegment(name), workspaceKey, null, data -> agentRecord(data, name));
  }

  /** With the agent's own token: self-rollover. With a workspace key: the legacy engines' reclaim. */
  public Future<RotatedToken> rotateToken(String credential, String name) {
    return call("rotate_token", HttpMethod.POST, "/v1/agents/" + encodeSegment(name) + "/rotate-token", credential, new JsonObject(),
      data -> rotatedToken(data, name));
  }

  public Future<TakeoverResult> takeover(String workspaceKey, String name, TakeoverRequest request) {
    return reclaimCall("takeover", workspaceKey, name, request);
  }

  public Future<TakeoverResult> recover(String workspaceKey, String name, TakeoverRequest request) {
    return reclaimCall("recover", workspaceKey, name, request);
  }

  /** A cheap liveness probe for a workspace key. */
  public Future<Void> listChannels(String workspaceKey) {
    return call("list_channels", HttpMethod.GET, "/v1/channels", workspaceKey, null, data -> null);
  }

  /** The agent's own record: a cheap check that a token is alive. */
  public Future<AgentRecord> getSelf(String agentToken) {
    return call("get_self", HttpMethod.GET, "/v1/agent", agentToken, null, data -> agentRecord(data, null));
  }

  /** Step 6: creates the channel with the agent token; a 409 (it exists) is a success for the caller to allow. */
  public Future<Void> createChannel(String agentToken, String channel) {
    return call("create_channel", HttpMethod.POST, "/v1/channels", agentToken, new JsonObject().put("name", channel), data -> null);
  }

  /** Step 6: joins the channel with the agent token. */
  public Future<Void> joinChannel(String agentToken, String channel) {
    return call("join_channel", HttpMethod.POST, "/v1/channels/" + encodeSegment(channel) + "/join", agentToken, new JsonObject(), data -> null);
  }

  /** Step 8: tells the cloud the agent is offline, so other machines and the dashboard see it at once. */
  public Future<Void> markOffline(String workspaceKey, String name) {
    return call("mark_offline", HttpMethod.PATCH, "/v1/agents/" + encodeSegment(name), workspaceKey, new JsonObject().put("status", "offline"), data -> null);
  }

  public void close() {
    web.close();
  }

  private Future<TakeoverResult> reclaimCall(String action, String workspaceKey, String name, TakeoverRequest request) {
    return call(action, HttpMethod.POST, "/v1/agents/" + encodeSegment(name) + "/" + action, workspaceKey, request.toJson(),
      data -> takeoverResult(data, name));
  }

  private <T> Future<T> call(String step, HttpMethod method, String path, String credential, JsonObject body,
                             Function<Object, T> decoder) {
    long started = System.nanoTime();
    HttpRequest<Buffer> request = web.requestAbs(method, baseUrl + path)
      .timeout(requestTimeoutMs)
      .putHeader("Accept", "application/json")
      .putHeader("X-Relaycast-Origin-Client", BrokerVersion.NAME)
      .putHeader("X-Relaycast-Origin-Version", BrokerVersion.VERSION);
    if (credential != null) {
      request.putHeader("Authorization", "Bearer " + credential);
    }
    Future<HttpResponse<Buffer>> sent = body == null ? request.send() : request.sendJsonObject(body);
    boolean workspaceKeyUsed = credential != null && credential.trim().startsWith("rk_");
    return sent.<T>transform(result -> result.succeeded()
        ? decode(method, path, workspaceKeyUsed, result.result(), decoder)
        : Future.failedFuture(transportFailure(result.cause())))
      .andThen(done -> observer.cloudCall(step, done.succeeded() ? "success" : BrokerFailure.of(done.cause()).code(),
        System.nanoTime() - started));
  }

  /** The one place where an HTTP answer becomes a success or a {@link BrokerFailure}. */
  static <T> Future<T> decode(HttpMethod method, String path, boolean workspaceKeyUsed, HttpResponse<Buffer> response,
                              Function<Object, T> decoder) {
    String what = method.name() + " " + path.replaceAll("/v1/agents/[^/]+", "/v1/agents/{name}");
    return decode(what, workspaceKeyUsed, response.statusCode(), response.getHeader("Retry-After"),
      response.getHeader("Content-Type"), response.body(), decoder);
  }

  /** The same decision on raw pieces of an answer (what the property tests feed random shapes into). */
  static <T> Future<T> decode(String what, boolean workspaceKeyUsed, int status, String retryAfter, String contentType,
                              Buffer body, Function<Object, T> decoder) {
    boolean success = status >= 200 && status < 300;
    Long retryAfterMs = parseRetryAfter(retryAfter);
    JsonObject envelope = parseObject(body);

    if (envelope == null || !(envelope.getValue("ok") instanceof Boolean ok)) {
      String shape = envelope == null ? describeNonJson(body, contentType) : "JSON without the {ok, data|error} envelope";
      String message = "the cloud answered " + what + " with " + status + " and " + shape;
      if (success) {
        // A captive portal's HTML page or a truncated body is an outage to wait out; a different JSON API is a
        // real mismatch.
        FailureCause cause = envelope == null ? FailureCause.CLOUD_UNAVAILABLE : FailureCause.CLOUD_PROTOCOL_ERROR;
        return Future.failedFuture(BrokerFailure.fromCloud(cause, message, status, null, retryAfterMs));
      }
      return Future.failedFuture(BrokerFailure.fromCloud(FailureCause.fromCloud(status, null, workspaceKeyUsed),
        message, status, null, retryAfterMs));
    }
    if (ok && success) {
      try {
        return Future.succeededFuture(decoder.apply(envelope.getValue("data")));
      } catch (ProtocolMismatch mismatch) {
        return Future.failedFuture(BrokerFailure.fromCloud(FailureCause.CLOUD_PROTOCOL_ERROR,
          "the cloud's answer to " + what + " " + mismatch.getMessage(), status, null, null));
      }
    }
    JsonObject error = envelope.getValue("error") instanceof JsonObject e ? e : new JsonObject();
    String cloudCode = error.getValue("code") instanceof String c && !c.isBlank() ? c : "http_" + status;
    String cloudMessage = error.getValue("message") instanceof String m ? truncate(m) : "";
    // ok:false on a 2xx is a refusal of the request, whatever the status says.
    int effectiveStatus = success ? 400 : status;
    return Future.failedFuture(BrokerFailure.fromCloud(FailureCause.fromCloud(effectiveStatus, cloudCode, workspaceKeyUsed),
      "the cloud answered " + what + " with " + status + " " + cloudCode + (cloudMessage.isEmpty() ? "" : " (" + cloudMessage + ")"),
      status, cloudCode, retryAfterMs));
  }

  static BrokerFailure transportFailure(Throwable cause) {
    String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : truncate(cause.getMessage());
    boolean timeout = cause instanceof TimeoutException
      || cause.getClass().getSimpleName().contains("Timeout")
      || reason.toLowerCase().contains("timeout") || reason.toLowerCase().contains("timed out");
    return timeout
      ? BrokerFailure.transport(FailureCause.CLOUD_TIMEOUT, "no answer from the cloud in time (" + reason + ")")
      : BrokerFailure.transport(FailureCause.CLOUD_UNREACHABLE, "cannot reach the cloud (" + reason + ")");
  }

  /** Names may hold spaces, '/', '+' and non-ASCII: each becomes one percent-encoded path segment. */
  public static String encodeSegment(String name) {
    return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
  }

  // Decoders of each success shape: lenient (unknown fields ignored, only what is used is required).

  static CreatedWorkspace createdWorkspace(Object data) {
    JsonObject o = object(data);
    return new CreatedWorkspace(optionalString(o, "workspace_id"), requiredString(o, "api_key"));
  }

  static Registration registration(Object data, String requestedName) {
    JsonObject o = object(data);
    return new Registration(requiredString(o, "id"), stringOr(o, "name", requestedName), requiredString(o, "token"),
      optionalString(o, "status"), optionalString(o, "workspace_id"));
  }

  static RotatedToken rotatedToken(Object data, String requestedName) {
    JsonObject o = object(data);
    return new RotatedToken(stringOr(o, "name", requestedName), requiredString(o, "token"));
  }

  static TakeoverResult takeoverResult(Object data, String requestedName) {
    JsonObject o = object(data);
    String agentId = o.getValue("agent_id") instanceof String s ? s : requiredString(o, "id");
    return new TakeoverResult(agentId, stringOr(o, "name", requestedName), requiredString(o, "token"), optionalString(o, "audit_id"));
  }

  static AgentRecord agentRecord(Object data, String requestedName) {
    JsonObject o = object(data);
    return new AgentRecord(
      requiredString(o, "id"),
      stringOr(o, "name", requestedName),
      optionalString(o, "status"),
      o.getValue("metadata") instanceof JsonObject m ? m : null);
  }

  static Long parseRetryAfter(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    try {
      long seconds = Long.parseLong(header.trim());
      return seconds < 0 ? null : Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
    } catch (NumberFormatException notSeconds) {
      try {
        ZonedDateTime at = ZonedDateTime.parse(header.trim(), DateTimeFormatter.RFC_1123_DATE_TIME);
        long ms = Duration.between(ZonedDateTime.now(at.getZone()), at).toMillis();
        return Math.max(0, Math.min(ms, MAX_RETRY_AFTER_MS));
      } catch (RuntimeException unparseable) {
        return null;
      }
    }
  }

  private static JsonObject parseObject(Buffer body) {
    if (body == null || body.length() == 0) {
      return null;
    }
    try {
      return body.toJsonValue() instanceof JsonObject o ? o : null;
    } catch (RuntimeException notJson) {
      return null;
    }
  }

  private static String describeNonJson(Buffer body, String contentType) {
    if (body == null || body.length() == 0) {
      return "an empty body";
    }
    return contentType != null && contentType.contains("html") ? "an HTML page" : "a body that is not a JSON object";
  }

  private static String truncate(String text) {
    return text.length() > 200 ? text.substring(0, 200) + "…" : text;
  }

  /** A success whose data lacks what the contract promises. */
  static final class ProtocolMismatch extends RuntimeException {
    ProtocolMismatch(String message) {
      super(message, null, false, false);
    }
  }

  private static JsonObject object(Object data) {
    if (data instanceof JsonObject o) {
      return o;
    }
    throw new ProtocolMismatch("has no data object");
  }

  private static String requiredString(JsonObject o, String field) {
    if (o.getValue(field) instanceof String s && !s.isBlank()) {
      return s;
    }
    throw new ProtocolMismatch("lacks the required field '" + field + "'");
  }

  private static String optionalString(JsonObject o, String field) {
    return o.getValue(field) instanceof String s ? s : null;
  }

  private static String stringOr(JsonObject o, String field, String fallback) {
    return o.getValue(field) instanceof String s && !s.isBlank() ? s : fallback;
  }
}
