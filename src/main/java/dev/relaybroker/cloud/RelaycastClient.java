package dev.relaybroker.cloud;

import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.BrokerVersion;
import dev.relaybroker.config.CloudOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Typed calls to the Relaycast cloud API (SPEC §1). It knows HTTP and the envelope; it never decides policy
 * (whether to reclaim, retry or give up): every outcome other than a decoded success is a {@link BrokerFailure}
 * made in {@link #decode} or {@link #transportFailure}, and the identity flow decides what it means.
 */
public class RelaycastClient {
  private static final long MAX_RETRY_AFTER_MS = Duration.ofMinutes(10).toMillis();
  static final int MIN_TOKEN_LENGTH = 8;
  static final int MAX_TOKEN_LENGTH = 512;
  static final int MAX_ID_LENGTH = 128;
  static final int MAX_NAME_LENGTH = 256;
  private static final Pattern BEARER = Pattern.compile("[A-Za-z0-9._~+/-]+=*");
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1," + MAX_ID_LENGTH + "}");
  private static final Pattern CLOUD_CODE = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");
  private static final Pattern STATUS = Pattern.compile("[A-Za-z_-]{1,32}");

  private final BoundedExchange exchange;
  private final String baseUrl;
  private final CloudCallObserver observer;
  /** Every credential this client sent and every token it decoded: cut from any cloud text it passes on. */
  private final CloudText cloudText = CloudText.shapesOnly();

  public RelaycastClient(Vertx vertx, String baseUrl, CloudOptions options) {
    this(vertx, baseUrl, options, CloudCallObserver.NONE);
  }

  /** @param observer told of every call once it ended (metrics) */
  public RelaycastClient(Vertx vertx, String baseUrl, CloudOptions options, CloudCallObserver observer) {
    this.observer = observer;
    this.exchange = new BoundedExchange(vertx, new HttpClientOptions()
      .setConnectTimeout(options.getConnectTimeoutMs())
      .setKeepAlive(true), options.getRequestTimeoutMs(), options.getMaxResponseBytes());
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
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
    exchange.close();
  }

  /** The redaction this client applies: it knows every secret the client has seen. */
  public CloudText cloudText() {
    return cloudText;
  }

  private Future<TakeoverResult> reclaimCall(String action, String workspaceKey, String name, TakeoverRequest request) {
    return call(action, HttpMethod.POST, "/v1/agents/" + encodeSegment(name) + "/" + action, workspaceKey, request.toJson(),
      data -> takeoverResult(data, name));
  }

  private <T> Future<T> call(String step, HttpMethod method, String path, String credential, JsonObject body,
                             Function<Object, T> decoder) {
    long started = System.nanoTime();
    MultiMap headers = HttpHeaders.headers()
      .add(HttpHeaders.USER_AGENT, BrokerVersion.NAME + "/" + BrokerVersion.VERSION)
      .add(HttpHeaders.ACCEPT, "application/json")
      .add("X-Relaycast-Origin-Client", BrokerVersion.NAME)
      .add("X-Relaycast-Origin-Version", BrokerVersion.VERSION);
    if (credential != null) {
      cloudText.remember(credential);
      if (!BEARER.matcher(credential).matches()) {
        // Netty would refuse it with an exception quoting the whole header; say it without the value.
        return Future.failedFuture(BrokerFailure.transport(FailureCause.CONFIG_INVALID,
          "the credential for " + method.name() + " " + redactPath(path) + " is not a bearer token (it holds spaces or control characters)"));
      }
      headers.add(HttpHeaders.AUTHORIZATION, "Bearer " + credential);
    }
    if (body != null) {
      headers.add(HttpHeaders.CONTENT_TYPE, "application/json");
    }
    boolean workspaceKeyUsed = credential != null && credential.trim().startsWith("rk_");
    String what = method.name() + " " + redactPath(path);
    return exchange.send(method, baseUrl + path, headers, body == null ? null : body.toBuffer())
      .<T>transform(result -> result.succeeded()
        ? decode(what, workspaceKeyUsed, result.result(), decoder, cloudText)
        : Future.failedFuture(result.cause() instanceof BoundedExchange.TooLarge tooLarge
          ? BrokerFailure.fromCloud(FailureCause.CLOUD_UNAVAILABLE, "the cloud answered " + what + " with " + tooLarge.status
            + " and " + tooLarge.getMessage(), tooLarge.status, null, null)
          : transportFailure(result.cause(), cloudText)))
      .andThen(done -> observer.cloudCall(step, done.succeeded() ? "success" : BrokerFailure.of(done.cause()).code(),
        System.nanoTime() - started));
  }

  /** The route without the agent's or channel's name: what a message or a metric may say of a call. */
  static String redactPath(String path) {
    return path.replaceAll("/v1/agents/[^/]+", "/v1/agents/{name}").replaceAll("/v1/channels/[^/]+", "/v1/channels/{name}");
  }

  /** The one place where an HTTP answer becomes a success or a {@link BrokerFailure}. */
  static <T> Future<T> decode(String what, boolean workspaceKeyUsed, BoundedExchange.Answer answer,
                              Function<Object, T> decoder, CloudText cloudText) {
    return decode(what, workspaceKeyUsed, answer.status(), answer.retryAfter(), answer.contentType(), answer.body(), decoder, cloudText);
  }

  /** The same decision on raw pieces of an answer (what the property tests feed random shapes into). */
  static <T> Future<T> decode(String what, boolean workspaceKeyUsed, int status, String retryAfter, String contentType,
                              Buffer body, Function<Object, T> decoder) {
    return decode(what, workspaceKeyUsed, status, retryAfter, contentType, body, decoder, CloudText.shapesOnly());
  }

  /**
   * Nothing of the cloud's text passes unfiltered: its message goes through {@code cloudText} (secrets cut,
   * controls escaped), its code must be snake_case, and every token, id and name of a success is checked on
   * arrival by the decoders. Anything else the decoder throws is a protocol error too, never an exception of its
   * own.
   */
  static <T> Future<T> decode(String what, boolean workspaceKeyUsed, int status, String retryAfter, String contentType,
                              Buffer body, Function<Object, T> decoder, CloudText cloudText) {
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
        T decoded = decoder.apply(envelope.getValue("data"));
        if (decoded instanceof Registration r) {
          cloudText.remember(r.token());
        } else if (decoded instanceof RotatedToken r) {
          cloudText.remember(r.token());
        } else if (decoded instanceof TakeoverResult r) {
          cloudText.remember(r.token());
        } else if (decoded instanceof CreatedWorkspace w) {
          cloudText.remember(w.apiKey());
        }
        return Future.succeededFuture(decoded);
      } catch (ProtocolMismatch mismatch) {
        return Future.failedFuture(BrokerFailure.fromCloud(FailureCause.CLOUD_PROTOCOL_ERROR,
          "the cloud's answer to " + what + " " + mismatch.getMessage(), status, null, null));
      } catch (RuntimeException | StackOverflowError unexpected) {
        return Future.failedFuture(BrokerFailure.fromCloud(FailureCause.CLOUD_PROTOCOL_ERROR,
          "the cloud's answer to " + what + " could not be decoded (" + unexpected.getClass().getSimpleName() + ")", status, null, null));
      }
    }
    JsonObject error = envelope.getValue("error") instanceof JsonObject e ? e : new JsonObject();
    // The code is cloud text too: one outside its alphabet, or one that is a secret, is replaced by the status.
    String cloudCode = error.getValue("code") instanceof String c && CLOUD_CODE.matcher(c).matches() && cloudText.clean(c).equals(c)
      ? c : "http_" + status;
    String cloudMessage = error.getValue("message") instanceof String m ? cloudText.clean(m) : "";
    // ok:false on a 2xx is a refusal of the request, whatever the status says.
    int effectiveStatus = success ? 400 : status;
    return Future.failedFuture(BrokerFailure.fromCloud(FailureCause.fromCloud(effectiveStatus, cloudCode, workspaceKeyUsed),
      "the cloud answered " + what + " with " + status + " " + cloudCode + (cloudMessage.isEmpty() ? "" : " (" + cloudMessage + ")"),
      status, cloudCode, retryAfterMs));
  }

  static BrokerFailure transportFailure(Throwable cause) {
    return transportFailure(cause, CloudText.shapesOnly());
  }

  /** Transport exceptions quote what they saw (a header, a URL): their text is cloud text too. */
  static BrokerFailure transportFailure(Throwable cause, CloudText cloudText) {
    String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cloudText.clean(cause.getMessage());
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

  // Decoders of each success shape: lenient about what is absent (unknown fields ignored, only what is used is
  // required), strict about what is present: a token, id or name outside its alphabet or length is a protocol
  // error on arrival, never cached, logged or served.

  static CreatedWorkspace createdWorkspace(Object data) {
    JsonObject o = object(data);
    return new CreatedWorkspace(optionalId(o, "workspace_id"), requiredToken(o, "api_key"));
  }

  static Registration registration(Object data, String requestedName) {
    JsonObject o = object(data);
    return new Registration(requiredId(o, "id"), nameOr(o, "name", requestedName), requiredToken(o, "token"),
      optionalStatus(o, "status"), optionalId(o, "workspace_id"));
  }

  static RotatedToken rotatedToken(Object data, String requestedName) {
    JsonObject o = object(data);
    return new RotatedToken(nameOr(o, "name", requestedName), requiredToken(o, "token"));
  }

  static TakeoverResult takeoverResult(Object data, String requestedName) {
    JsonObject o = object(data);
    String agentId = o.getValue("agent_id") instanceof String ? requiredId(o, "agent_id") : requiredId(o, "id");
    return new TakeoverResult(agentId, nameOr(o, "name", requestedName), requiredToken(o, "token"),
      o.getValue("audit_id") instanceof String a && ID.matcher(a).matches() ? a : null);
  }

  static AgentRecord agentRecord(Object data, String requestedName) {
    JsonObject o = object(data);
    return new AgentRecord(
      requiredId(o, "id"),
      nameOr(o, "name", requestedName),
      optionalStatus(o, "status"),
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
    } catch (RuntimeException | StackOverflowError notJson) {
      return null;
    }
  }

  private static String describeNonJson(Buffer body, String contentType) {
    if (body == null || body.length() == 0) {
      return "an empty body";
    }
    return contentType != null && contentType.contains("html") ? "an HTML page" : "a body that is not a JSON object";
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

  /** A bearer token (RFC 6750's b64token): anything else would forge a header, or a log line when quoted. */
  private static String requiredToken(JsonObject o, String field) {
    String token = requiredString(o, field);
    if (token.length() < MIN_TOKEN_LENGTH || token.length() > MAX_TOKEN_LENGTH || !BEARER.matcher(token).matches()) {
      // Never quoted: it may be a real token with one bad character.
      throw new ProtocolMismatch("carries a '" + field + "' that is not a bearer token (" + token.length()
        + " characters, outside [A-Za-z0-9._~+/-] or " + MIN_TOKEN_LENGTH + "–" + MAX_TOKEN_LENGTH + " long)");
    }
    return token;
  }

  private static String requiredId(JsonObject o, String field) {
    String id = requiredString(o, field);
    if (!ID.matcher(id).matches()) {
      // Never quoted: an id the cloud made up may carry anything, a secret the broker holds included (the jqwik
      // property found one echoed in an id).
      throw new ProtocolMismatch("carries an '" + field + "' outside [A-Za-z0-9._:-]{1," + MAX_ID_LENGTH + "} ("
        + id.length() + " characters)");
    }
    return id;
  }

  private static String optionalId(JsonObject o, String field) {
    return o.getValue(field) instanceof String ? requiredId(o, field) : null;
  }

  /** Names may hold spaces, '/' and non-ASCII (SPEC §1), never a control character, a line break or a bidi override. */
  private static String nameOr(JsonObject o, String field, String fallback) {
    if (!(o.getValue(field) instanceof String name) || name.isBlank()) {
      return fallback;
    }
    if (name.length() > MAX_NAME_LENGTH || name.chars().anyMatch(c -> CloudText.isUnsafe((char) c))) {
      throw new ProtocolMismatch("carries a '" + field + "' with control characters or longer than " + MAX_NAME_LENGTH
        + " (" + name.length() + " characters; never quoted, like an id)");
    }
    return name;
  }

  /** Only ever compared with known words ({@code online}, {@code active}); anything else reads as unknown. */
  private static String optionalStatus(JsonObject o, String field) {
    return o.getValue(field) instanceof String s && STATUS.matcher(s).matches() ? s : null;
  }
}
