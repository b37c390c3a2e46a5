package dev.relaybroker.api;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.Session;
import dev.relaybroker.bus.SessionState;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.files.AtomicFiles;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The local API of SPEC §3, on loopback TCP (API key) and on {@code <state>/broker.sock} (guarded by its 0600
 * permissions in a 0700 directory). Thin and read-mostly, like tailscaled's LocalAPI: the identity verticle
 * owns the session; this verticle keeps a snapshot of what it publishes on the event bus and answers from it.
 */
public class LocalApiVerticle extends VerticleBase {
  public static final String LISTENING_LINE_PREFIX = "[agent-relay] API listening on ";
  public static final String SOCKET_FILE = "broker.sock";
  public static final String CONNECTION_FILE = "connection.json";
  private static final Logger LOG = LoggerFactory.getLogger(LocalApiVerticle.class);
  /** Unix socket paths are limited to 108 bytes on Linux, terminator included. */
  private static final int MAX_SOCKET_PATH = 107;
  private static final long REFRESH_TIMEOUT_MS = 120_000;
  private static final CharSequence APPLICATION_JSON = HttpHeaders.createOptimized("application/json");

  private final BrokerOptions options;
  private final String apiKey;
  private final long startedAtMs = System.currentTimeMillis();
  private final Path stateDir;
  private final Deque<JsonObject> events = new ArrayDeque<>();
  private final Set<ServerWebSocket> eventStreams = new LinkedHashSet<>();
  private final Map<HttpConnection, Long> headerDeadlines = new HashMap<>();
  private final byte[] apiKeyBytes;
  private Buffer sessionBodyCache;
  private long sessionBodyCacheSecond;

  private HttpServer tcpServer;
  private HttpServer socketServer;
  private String socketPath;
  private String connectionFile;
  private long nextSeq = 1;
  private SessionState state = SessionState.STARTING;
  private JsonObject lastStateEvent = new JsonObject().put("message", "starting");
  private Session session;
  private long leaseDeadlineMs;
  private String presence = "connecting";
  private String presenceMessage;

  public LocalApiVerticle(BrokerOptions options, String apiKey) {
    this.options = options;
    this.apiKey = apiKey;
    this.apiKeyBytes = apiKey.getBytes(StandardCharsets.UTF_8);
    this.stateDir = options.resolvedStateDir();
  }

  /** TCP port actually bound; valid once deployed. */
  public int port() {
    return tcpServer.actualPort();
  }

  /** Path of the Unix socket, or null when it could not be bound. */
  public String socketPath() {
    return socketPath;
  }

  @Override
  public Future<?> start() {
    vertx.eventBus().<JsonObject>consumer(Addresses.SESSION_STATE, message -> onState(message.body()));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.SESSION_RESOLVED, message -> onResolved(Session.fromJson(message.body())));
    vertx.eventBus().<JsonObject>consumer(Addresses.PRESENCE_STATE, message -> onPresence(message.body()));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.EVENTS, message ->
      record(new JsonObject().put("kind", "event").put("event", message.body())));
    if (!options.getPresence().isEnabled()) {
      presence = "disabled";
    }
    renewLease();
    if (options.getApi().getIdleTimeoutSecs() > 0) {
      // The idle timeout would otherwise close an event stream that has had nothing to say for a while; a ping
      // (and the client's pong) keeps a listening client connected and finds those that are gone.
      vertx.setPeriodic(Math.max(1, options.getApi().getIdleTimeoutSecs() / 2) * 1000L,
        id -> eventStreams.forEach(ws -> ws.writePing(Buffer.buffer())));
    }
    if (options.getMode() == BrokerMode.EPHEMERAL) {
      vertx.setPeriodic(Math.min(1000, options.getLeaseSecs() * 1000), id -> checkLease());
    }

    Router router = router();
    HttpServerOptions serverOptions = new HttpServerOptions()
      // No h2c: with it, Vert.x creates the connection only after the first request head (to look for an
      // Upgrade header), too late for the header deadline. Local clients speak HTTP/1.1.
      .setHttp2ClearTextEnabled(false)
      .setIdleTimeout(options.getApi().getIdleTimeoutSecs())
      .setMaxInitialLineLength(8192)
      .setMaxHeaderSize(16 * 1024)
      .setMaxWebSocketFrameSize(64 * 1024);
    connectionFile = stateDir.resolve(CONNECTION_FILE).toString();

    return AtomicFiles.ensureOwnerOnlyDir(vertx, stateDir.toString())
      .compose(v -> vertx.createHttpServer(serverOptions).requestHandler(request -> serve(request, router, true))
        .connectionHandler(this::armHeaderDeadline)
        .listen(options.getApi().getPort(), options.getApi().getBind()))
      .compose(server -> {
        tcpServer = server;
        return announceListening();
      })
      .compose(v -> listenOnUnixSocket(serverOptions, router))
      .compose(v -> writeConnectionFile());
  }

  @Override
  public Future<?> stop() {
    eventStreams.forEach(ws -> ws.close((short) 1001, "broker stopping"));
    Future<Void> closeTcp = tcpServer == null ? Future.succeededFuture() : tcpServer.close();
    Future<Void> closeSocket = socketServer == null ? Future.succeededFuture() : socketServer.close();
    return Future.join(closeTcp, closeSocket)
      .eventually(() -> deleteQuietly(connectionFile))
      .eventually(() -> socketPath == null ? Future.succeededFuture() : deleteQuietly(socketPath));
  }

  private String url() {
    String host = options.getApi().getBind().contains(":") ? "[" + options.getApi().getBind() + "]" : options.getApi().getBind();
    return "http://" + host + ":" + tcpServer.actualPort();
  }

  /**
   * SDKs parse this exact line from stdout; it is the only thing the broker ever writes there. Written on a
   * worker: stdout is a pipe, and a slow reader at its other end must not stall the event loop.
   */
  private Future<Void> announceListening() {
    String line = LISTENING_LINE_PREFIX + url();
    return vertx.<Void>executeBlocking(() -> {
      System.out.println(line);
      System.out.flush();
      return null;
    }).onSuccess(v -> LOG.info("Local API on {}", url()));
  }

  private Future<Void> listenOnUnixSocket(HttpServerOptions serverOptions, Router router) {
    if (!options.getApi().isUnixSocket()) {
      return Future.succeededFuture();
    }
    String path = stateDir.resolve(SOCKET_FILE).toString();
    if (path.getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
      LOG.warn("Unix socket path {} is longer than {} bytes; serving on TCP only (use a shorter --state-dir)", path, MAX_SOCKET_PATH);
      return Future.succeededFuture();
    }
    // The state-dir lock proves no other broker runs here, so a socket file left behind is stale.
    return deleteQuietly(path)
      .compose(v -> vertx.createHttpServer(serverOptions).requestHandler(request -> serve(request, router, false))
        .connectionHandler(this::armHeaderDeadline)
        .listen(SocketAddress.domainSocketAddress(path)))
      .compose(server -> {
        socketServer = server;
        socketPath = path;
        return vertx.fileSystem().chmod(path, AtomicFiles.OWNER_ONLY_FILE);
      })
      .onSuccess(v -> LOG.info("Local API on unix:{}", path))
      .recover(e -> {
        LOG.warn("Could not serve on Unix socket {} ({}); serving on TCP only", path, e.getMessage());
        return Future.succeededFuture();
      });
  }

  private Future<Void> writeConnectionFile() {
    JsonObject connection = new JsonObject()
      .put("url", url())
      .put("port", tcpServer.actualPort())
      .put("api_key", apiKey)
      .put("pid", ProcessHandle.current().pid())
      .put("socket", socketPath);
    return AtomicFiles.writeOwnerOnly(vertx, connectionFile, connection.toBuffer());
  }

  // ---------------------------------------------------------------------------------------------------------
  // Routes
  // ---------------------------------------------------------------------------------------------------------

  /**
   * Slowloris guard: a new connection gets {@code headerTimeoutSecs} to deliver its first request head. Vert.x
   * calls the request handler once the head is complete, which disarms the deadline.
   */
  private void armHeaderDeadline(HttpConnection connection) {
    long timer = vertx.setTimer(options.getApi().getHeaderTimeoutSecs() * 1000L, t -> {
      headerDeadlines.remove(connection);
      connection.close();
    });
    headerDeadlines.put(connection, timer);
    connection.closeHandler(v -> {
      Long pending = headerDeadlines.remove(connection);
      if (pending != null) {
        vertx.cancelTimer(pending);
      }
    });
  }

  private void disarmHeaderDeadline(HttpConnection connection) {
    Long pending = headerDeadlines.remove(connection);
    if (pending != null) {
      vertx.cancelTimer(pending);
    }
  }

  /**
   * The hot path: SDKs poll {@code GET /api/session}, so a ready session is answered here from a cached body,
   * without the router. Everything else, and every non-ready answer, goes through the router.
   */
  private void serve(HttpServerRequest request, Router router, boolean keyRequired) {
    if (request.method() == HttpMethod.GET && "/api/session".equals(request.path()) && state == SessionState.READY
      && session != null && !"superseded".equals(presence) && (!keyRequired || hasValidKey(request))) {
      disarmHeaderDeadline(request.connection());
      request.response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON).end(cachedSessionBody());
      return;
    }
    router.handle(request);
  }

  private Buffer cachedSessionBody() {
    long second = (System.currentTimeMillis() - startedAtMs) / 1000;
    if (sessionBodyCache == null || sessionBodyCacheSecond != second) {
      sessionBodyCache = sessionBody(session).toBuffer();
      sessionBodyCacheSecond = second;
    }
    return sessionBodyCache;
  }

  private Router router() {
    Router router = Router.router(vertx);
    router.route().handler(ctx -> {
      disarmHeaderDeadline(ctx.request().connection());
      ctx.next();
    });
    router.get("/health").handler(this::health);
    router.route().handler(this::authenticate);
    // Before the body handler: an upgrade request must reach toWebSocket() unread.
    router.get("/ws").handler(this::eventStream);
    router.route().handler(BodyHandler.create().setBodyLimit(options.getApi().getMaxBodyBytes()).setHandleFileUploads(false));
    router.get("/api/session").handler(ctx -> answerSession(ctx));
    router.post("/api/session/renew").handler(this::renew);
    router.post("/api/session/refresh").handler(this::refresh);
    router.post("/api/shutdown").handler(this::shutdown);
    router.route().handler(ctx -> error(ctx, 404, "not_found", "no route " + ctx.request().method() + " " + ctx.request().path(), false));
    router.errorHandler(413, ctx -> error(ctx, 413, "payload_too_large",
      "request body exceeds " + options.getApi().getMaxBodyBytes() + " bytes", false));
    router.errorHandler(405, ctx -> error(ctx, 405, "method_not_allowed", "method not allowed", false));
    router.errorHandler(400, ctx -> error(ctx, 400, "bad_request", "malformed request", false));
    router.errorHandler(500, ctx -> {
      LOG.warn("Local API handler failed on {} {}: {}", ctx.request().method(), ctx.request().path(),
        ctx.failure() == null ? "unknown" : ctx.failure().toString());
      error(ctx, 500, "internal_error", "internal error", true);
    });
    return router;
  }

  private void health(RoutingContext ctx) {
    json(ctx, 200, new JsonObject()
      .put("status", "ok")
      .put("service", "agent-relay-listen")
      .put("version", BrokerVersion.VERSION)
      .put("uptimeMs", System.currentTimeMillis() - startedAtMs)
      .put("state", state.wireName())
      .put("relaycastConnected", options.getPresence().isEnabled() ? "online".equals(presence) : state == SessionState.READY));
  }

  private void authenticate(RoutingContext ctx) {
    if (isAuthorized(ctx.request())) {
      ctx.next();
    } else {
      error(ctx, 401, "unauthorized", presentedKey(ctx.request()) == null
        ? "missing API key: send it as X-API-Key or Authorization: Bearer (see connection.json)"
        : "wrong API key", false);
    }
  }

  /** TCP clients present the API key; on the Unix socket its 0600 file already decided. */
  private boolean isAuthorized(HttpServerRequest request) {
    SocketAddress local = request.localAddress();
    return (local != null && local.isDomainSocket()) || hasValidKey(request);
  }

  /** The key, compared in constant time. */
  private boolean hasValidKey(HttpServerRequest request) {
    String presented = presentedKey(request);
    return presented != null && MessageDigest.isEqual(presented.getBytes(StandardCharsets.UTF_8), apiKeyBytes);
  }

  private static String presentedKey(HttpServerRequest request) {
    String presented = request.getHeader("X-API-Key");
    String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
    if (presented == null && authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      presented = authorization.substring(7).trim();
    }
    return presented;
  }

  private void answerSession(RoutingContext ctx) {
    if ("superseded".equals(presence)) {
      error(ctx, 409, "agent_superseded", presenceMessage, false);
    } else if (state == SessionState.READY && session != null) {
      json(ctx, 200, sessionBody(session));
    } else if (state == SessionState.FAILED) {
      String cause = lastStateEvent.getString("cause", "failed");
      // SDKs keep polling while the text mentions 503; a refusal must make them stop at once with the cause.
      String message = lastStateEvent.getString("message", "the identity flow failed")
        .replace("503", "5xx").replaceAll("(?i)service unavailable", "unavailable");
      error(ctx, 502, cause, message, false);
    } else {
      error(ctx, 503, "broker_starting", "503 Service Unavailable: the broker is " + state.wireName()
        + " (" + lastStateEvent.getString("message", "starting") + ")", true);
    }
  }

  private JsonObject sessionBody(Session s) {
    return new JsonObject()
      .put("broker_version", BrokerVersion.VERSION)
      .put("protocol_version", 1)
      .put("workspace_key", s.workspaceKey())
      .put("default_workspace_id", s.workspaceId())
      .put("relay_base_url", s.baseUrl())
      .put("mode", s.mode())
      .put("uptime_secs", (System.currentTimeMillis() - startedAtMs) / 1000)
      .put("state", "ready")
      .put("presence", presence)
      .put("agent", new JsonObject().put("id", s.agentId()).put("name", s.agentName()));
  }

  private void renew(RoutingContext ctx) {
    renewLease();
    json(ctx, 200, new JsonObject().put("renewed", true).put("expires_in_secs", options.getLeaseSecs()));
  }

  private void refresh(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.SESSION_REFRESH, new JsonObject(), new DeliveryOptions().setSendTimeout(REFRESH_TIMEOUT_MS))
      .onSuccess(reply -> json(ctx, 200, sessionBody(Session.fromJson(reply.body()))))
      .onFailure(e -> {
        if (e instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
          String text = reply.getMessage() == null ? "failed: refresh failed" : reply.getMessage();
          int colon = text.indexOf(": ");
          error(ctx, 502, colon > 0 ? text.substring(0, colon) : "refresh_failed", colon > 0 ? text.substring(colon + 2) : text, false);
        } else {
          error(ctx, 503, "broker_starting", "503 Service Unavailable: the token rollover is still in progress", true);
        }
      });
  }

  private void shutdown(RoutingContext ctx) {
    // Stop only once the answer is on the wire, so the client reads it before the socket closes.
    json(ctx, 200, new JsonObject().put("status", "shutting_down"))
      .onComplete(v -> vertx.eventBus().send(Addresses.BROKER_SHUTDOWN, "requested through /api/shutdown"));
  }

  private void eventStream(RoutingContext ctx) {
    long sinceSeq;
    try {
      sinceSeq = Long.parseLong(ctx.request().getParam("sinceSeq", "0"));
    } catch (NumberFormatException e) {
      error(ctx, 400, "bad_request", "sinceSeq must be an integer", false);
      return;
    }
    ctx.request().toWebSocket().onSuccess(ws -> {
      events.stream().filter(e -> e.getLong("seq") > sinceSeq).forEach(e -> ws.writeTextMessage(e.encode()));
      eventStreams.add(ws);
      ws.closeHandler(v -> eventStreams.remove(ws));
      ws.exceptionHandler(err -> eventStreams.remove(ws));
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // State from the event bus, events, lease
  // ---------------------------------------------------------------------------------------------------------

  private void onState(JsonObject event) {
    sessionBodyCache = null;
    try {
      state = SessionState.parse(event.getString("state"));
    } catch (RuntimeException unknown) {
      return;
    }
    lastStateEvent = event;
    if (state == SessionState.FAILED) {
      session = null;
    }
    JsonObject copy = event.copy();
    copy.remove("state");
    record(new JsonObject().put("kind", "state").put("state", state.wireName()).mergeIn(copy));
  }

  private void onPresence(JsonObject event) {
    sessionBodyCache = null;
    presence = event.getString("state", presence);
    presenceMessage = event.getString("message");
    JsonObject copy = event.copy();
    copy.remove("state");
    record(new JsonObject().put("kind", "presence").put("presence", presence).mergeIn(copy));
  }

  private void onResolved(Session resolved) {
    sessionBodyCache = null;
    boolean rollover = session != null && session.agentId().equals(resolved.agentId());
    session = resolved;
    // The event stream never carries the token: anyone holding the API key may read it.
    record(new JsonObject().put("kind", rollover ? "token_rollover" : "session_resolved")
      .put("agentId", resolved.agentId()).put("agentName", resolved.agentName()));
  }

  private void record(JsonObject event) {
    event.put("seq", nextSeq++).put("at", java.time.Instant.now().toString());
    events.addLast(event);
    while (events.size() > options.getApi().getEventBufferSize()) {
      events.removeFirst();
    }
    String encoded = event.encode();
    eventStreams.forEach(ws -> ws.writeTextMessage(encoded));
  }

  private void renewLease() {
    leaseDeadlineMs = System.currentTimeMillis() + options.getLeaseSecs() * 1000;
  }

  private void checkLease() {
    if (System.currentTimeMillis() > leaseDeadlineMs) {
      LOG.info("Owner lease lapsed (not renewed for {} s); stopping", options.getLeaseSecs());
      leaseDeadlineMs = Long.MAX_VALUE;
      vertx.eventBus().send(Addresses.BROKER_SHUTDOWN, "owner lease lapsed");
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Answers
  // ---------------------------------------------------------------------------------------------------------

  /** SPEC §3 error body: the four fields at the top level (what the SDK reads) and again under "error". */
  static JsonObject errorBody(int status, String code, String message, boolean retryable) {
    JsonObject fields = new JsonObject().put("code", code).put("message", message).put("retryable", retryable).put("statusCode", status);
    return fields.copy().put("error", fields);
  }

  private static void error(RoutingContext ctx, int status, String code, String message, boolean retryable) {
    json(ctx, status, errorBody(status, code, message, retryable));
  }

  private static Future<Void> json(RoutingContext ctx, int status, JsonObject body) {
    if (ctx.response().ended() || ctx.response().closed()) {
      return Future.succeededFuture();
    }
    return ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.encode());
  }

  private Future<Void> deleteQuietly(String path) {
    return vertx.fileSystem().exists(path)
      .compose(exists -> exists ? vertx.fileSystem().delete(path) : Future.succeededFuture())
      .otherwiseEmpty();
  }
}
