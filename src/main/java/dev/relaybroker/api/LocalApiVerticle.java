package dev.relaybroker.api;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.bus.LocalCodec;
import dev.relaybroker.bus.Secrets;
import dev.relaybroker.session.Session;
import dev.relaybroker.bus.SessionHold;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionUnavailable;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.ProjectLayout;
import dev.relaybroker.metrics.BrokerMetrics;
import dev.relaybroker.files.AtomicFiles;
import dev.relaybroker.metrics.StartupTrace;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.file.FileSystem;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;

/**
 * The local API of SPEC §3, on loopback TCP (API key) and on {@code <state>/broker.sock} (guarded by its 0600
 * permissions in a 0700 directory). Thin and read-mostly, like tailscaled's LocalAPI: the identity verticle owns
 * the {@link SessionSnapshot}; this verticle keeps the latest one it published and answers every route from it,
 * with one rule ({@link SessionSnapshot#status()}) for the fast path and the router alike.
 */
public class LocalApiVerticle extends VerticleBase {
  public static final String LISTENING_LINE_PREFIX = "[agent-relay] API listening on ";
  public static final String SOCKET_FILE = "broker.sock";
  public static final String CONNECTION_FILE = "connection.json";
  private static final Logger LOG = LoggerFactory.getLogger(LocalApiVerticle.class);
  /** Unix socket paths are limited to 108 bytes on Linux, terminator included. */
  private static final int MAX_SOCKET_PATH = 107;
  /**
   * A refresh is answered by then even if the rollover still retries through an outage: with the current
   * session, which stays valid (make before break), and {@code rolling_over: true}. Well inside the idle timeout,
   * which would otherwise cut a request that waits in silence.
   */
  private static final long REFRESH_ANSWER_MS = 10_000;
  private static final CharSequence APPLICATION_JSON = HttpHeaders.createOptimized("application/json");

  private final BrokerOptions options;
  private final String apiKey;
  private final long startedAtMs = System.currentTimeMillis();
  private final Path stateDir;
  private final byte[] apiKeyBytes;
  private final EventJournal journal;
  private final BrokerBus bus;
  /** {@code GET /api/session} requests held until the first settled snapshot. */
  private SessionHold<HttpServerRequest> heldRequests;
  /** The broker's health procedures, registered by the parts that own them; this API only serves them. */
  private final HealthChecks health;
  /** The broker's meters for {@code /metrics}; null when {@code metrics.enabled} is false. */
  private final BrokerMetrics metrics;
  private HeaderDeadline headerDeadline;
  private LoopbackOnly loopbackOnly;
  private SessionSnapshot snapshot;
  private Buffer sessionBodyCache;
  private long sessionBodyCacheSeq = -1;
  private long sessionBodyCacheSecond;

  private HttpServer tcpServer;
  private HttpServer socketServer;
  private String socketPath;
  /** The 6.x clients' copy of connection.json, when this broker left one. */
  private String discoveryFile;
  private String connectionFile;

  /**
   * @param health  the broker's health procedures ({@code GET /health}'s {@code checks}, {@code GET /health/checks})
   * @param metrics the broker's meters for {@code GET /metrics}; null when metrics are off
   */
  public LocalApiVerticle(BrokerOptions options, String apiKey, HealthChecks health, BrokerMetrics metrics) {
    this.options = options;
    this.health = health;
    this.metrics = metrics;
    this.apiKey = apiKey;
    this.apiKeyBytes = apiKey.getBytes(StandardCharsets.UTF_8);
    this.stateDir = options.resolvedStateDir();
    this.journal = new EventJournal(options.getApi().getEventBufferSize());
    this.bus = options.bus();
    this.snapshot = SessionSnapshot.initial(options.getPresence().isEnabled());
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
    LocalCodec.registerAll(vertx);
    headerDeadline = new HeaderDeadline(vertx, options.getApi().getHeaderTimeoutSecs());
    loopbackOnly = LoopbackOnly.forBind(options.getApi().getBind());
    heldRequests = new SessionHold<>(vertx);
    vertx.eventBus().<SessionSnapshot>localConsumer(bus.sessionSnapshot(), message -> onSnapshot(message.body()));
    vertx.eventBus().<JsonObject>localConsumer(bus.events(), message -> journal.onCloudEvent(message.body()));
    // The idle timeout would otherwise close an event stream that has had nothing to say for a while; a ping
    // (and the client's pong) keeps a listening client connected and finds those that are gone.
    vertx.setPeriodic(Math.max(1, options.getApi().getIdleTimeoutSecs() / 2) * 1000L, id -> journal.ping());

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

    // The state dir exists, 0700: the application made it when it took the state-dir lock.
    return vertx.createHttpServer(serverOptions).requestHandler(request -> serve(request, router, true))
        .connectionHandler(headerDeadline::arm)
        .listen(options.getApi().getPort(), options.getApi().getBind())
      .recover(e -> Future.failedFuture(new IllegalStateException("cannot listen on " + options.getApi().getBind() + ":"
        + options.getApi().getPort() + " (" + (e.getMessage() != null && e.getMessage().contains("in use")
          ? "address already in use: another program has that port; pick another --api-port, or 0 for any free one"
          : e.getMessage()) + ")", e)))
      .compose(server -> {
        tcpServer = server;
        return announceListening();
      })
      .compose(v -> listenOnUnixSocket(serverOptions, router))
      .compose(v -> writeConnectionFile());
  }

  /**
   * The 6.x clients' {@code AgentRelayClient.connect()} reads {@code <project>/.agent-relay/connection.json}; the
   * same file there lets it find this broker (one project, one broker, one agent). Discovery only: no identity
   * is ever kept there. Best effort: a project whose old dir cannot be written is still served.
   */
  private Future<Void> writeDiscoveryFile(JsonObject connection) {
    Path legacy = ProjectLayout.legacyDirOf(stateDir);
    if (legacy == null) {
      return Future.succeededFuture();
    }
    discoveryFile = legacy.resolve(CONNECTION_FILE).toString();
    FileSystem fs = vertx.fileSystem();
    return fs.exists(legacy.toString())
      .compose(exists -> exists ? Future.<Void>succeededFuture() : fs.mkdirs(legacy.toString(), AtomicFiles.OWNER_ONLY_DIR)
        .compose(v -> AtomicFiles.writeOwnerOnly(vertx, legacy.resolve(".gitignore").toString(), Buffer.buffer("*\n"))))
      .compose(v -> AtomicFiles.writeOwnerOnly(vertx, discoveryFile, connection.copy().put("state_dir", stateDir.toString()).toBuffer()))
      .recover(e -> {
        LOG.warn("Could not leave a connection.json for 6.x clients in {} ({})", legacy, e.getMessage());
        discoveryFile = null;
        return Future.succeededFuture();
      });
  }

  @Override
  public Future<?> stop() {
    journal.closeAll();
    Future<Void> closeTcp = tcpServer == null ? Future.succeededFuture() : tcpServer.close();
    Future<Void> closeSocket = socketServer == null ? Future.succeededFuture() : socketServer.close();
    return Future.join(closeTcp, closeSocket)
      .eventually(() -> deleteQuietly(connectionFile))
      .eventually(() -> discoveryFile == null ? Future.succeededFuture() : deleteQuietly(discoveryFile))
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
      StartupTrace.mark("listening line printed");
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
        .connectionHandler(headerDeadline::arm)
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
    return AtomicFiles.writeOwnerOnly(vertx, connectionFile, connection.toBuffer()).compose(v -> writeDiscoveryFile(connection));
  }

  // ---------------------------------------------------------------------------------------------------------
  // The snapshot
  // ---------------------------------------------------------------------------------------------------------

  private void onSnapshot(SessionSnapshot next) {
    if (next.seq() <= snapshot.seq()) {
      return; // published before this verticle saw an earlier one; never go back
    }
    SessionSnapshot previous = snapshot;
    snapshot = next;
    journal.onSnapshot(previous, next);
    if (next.settled()) {
      heldRequests.releaseAll(request -> answerSession(request.response()));
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Routes
  // ---------------------------------------------------------------------------------------------------------

  /**
   * The hot path: SDKs poll {@code GET /api/session}, so a served session is answered here from a cached body,
   * without the router. Everything else, and every answer without a session, goes through the router.
   */
  private void serve(HttpServerRequest request, Router router, boolean keyRequired) {
    if (!loopbackOnly.admit(request)) {
      return;
    }
    if (isAuthorized(request)) {
      headerDeadline.disarm(request.connection());
    } else {
      headerDeadline.untilAnswered(request);
    }
    if (request.method() == HttpMethod.GET && "/api/session".equals(request.path()) && snapshot.status() == 200
      && (!keyRequired || hasValidKey(request))) {
      request.response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON).end(cachedSessionBody());
      return;
    }
    router.handle(request);
  }

  /** The body changes with the snapshot and with {@code uptime_secs}: built at most once a second. */
  private Buffer cachedSessionBody() {
    long second = (System.currentTimeMillis() - startedAtMs) / 1000;
    if (sessionBodyCache == null || sessionBodyCacheSeq != snapshot.seq() || sessionBodyCacheSecond != second) {
      sessionBodyCache = sessionBody(snapshot, snapshot.session()).toBuffer();
      sessionBodyCacheSeq = snapshot.seq();
      sessionBodyCacheSecond = second;
    }
    return sessionBodyCache;
  }

  private Router router() {
    Router router = Router.router(vertx);
    router.get("/health").handler(this::health);
    // The library's own answer, before authentication like /health: 200 when every check is UP, 503 otherwise.
    router.get("/health/checks").handler(HealthCheckHandler.createWithHealthChecks(health));
    router.route().handler(this::authenticate);
    // Before the body handler: an upgrade request must reach toWebSocket() unread.
    router.get("/ws").handler(this::eventStream);
    router.route().handler(BodyHandler.create().setBodyLimit(options.getApi().getMaxBodyBytes()).setHandleFileUploads(false));
    router.get("/api/session").handler(this::getSession);
    router.post("/api/session/renew").handler(this::renew);
    router.post("/api/session/refresh").handler(this::refresh);
    router.post("/api/shutdown").handler(this::shutdown);
    router.get("/metrics").handler(this::metrics);
    StatusRoutes.mount(router, () -> snapshot, () -> (System.currentTimeMillis() - startedAtMs) / 1000);
    WorkerRoutes.mount(router);
    router.route().handler(ctx -> error(ctx.response(), 404, "not_found", "no route " + ctx.request().method() + " " + ctx.request().path(), false));
    router.errorHandler(413, ctx -> error(ctx.response(), 413, "payload_too_large",
      "request body exceeds " + options.getApi().getMaxBodyBytes() + " bytes", false));
    router.errorHandler(405, ctx -> error(ctx.response(), 405, "method_not_allowed", "method not allowed", false));
    router.errorHandler(400, ctx -> error(ctx.response(), 400, "bad_request", "malformed request", false));
    router.errorHandler(500, ctx -> {
      LOG.warn("Local API handler failed on {} {}: {}", ctx.request().method(), ctx.request().path(),
        ctx.failure() == null ? "unknown" : ctx.failure().toString());
      error(ctx.response(), 500, "internal_error", "internal error", true);
    });
    return router;
  }

  /** Liveness: always 200 while the process serves; {@code status} says whether it serves a session. */
  private void health(RoutingContext ctx) {
    SessionSnapshot s = snapshot;
    String status = switch (s.status()) {
      case 200 -> "ok";
      case 503 -> "starting";
      default -> s.state().wireName(); // failed, superseded
    };
    JsonObject body = PeerFields.addToHealth(new JsonObject()
      .put("status", status)
      .put("service", "agent-relay-listen")
      .put("version", BrokerVersion.VERSION)
      .put("uptimeMs", System.currentTimeMillis() - startedAtMs)
      .put("state", s.state().wireName())
      .put("presence", PeerFields.presence(s))
      .put("relaycastConnected", options.getPresence().isEnabled() ? s.presence() == dev.relaybroker.session.PresenceState.ONLINE : s.status() == 200),
      s, journal.streamCount());
    // Liveness: 200 whatever the checks say (/health/checks is the readiness answer).
    health.checkStatus().onComplete(checks -> json(ctx.response(), 200, body.put("checks",
      checks.succeeded() ? checks.result().toJson().getJsonArray("checks", new io.vertx.core.json.JsonArray()) : new io.vertx.core.json.JsonArray())));
  }

  private void authenticate(RoutingContext ctx) {
    if (isAuthorized(ctx.request())) {
      ctx.next();
    } else {
      error(ctx.response(), 401, "unauthorized", presentedKey(ctx.request()) == null
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

  /**
   * SPEC §3 session hold: with no session yet, the request waits for the snapshot that has one (or a failure),
   * at most {@code api.sessionWaitMs}; {@code ?wait=0} answers at once.
   */
  private void getSession(RoutingContext ctx) {
    long waitMs = options.getApi().getSessionWaitMs();
    String wait = ctx.request().getParam("wait");
    if (wait != null) {
      try {
        waitMs = Math.min(Math.max(0, Long.parseLong(wait.trim())), waitMs);
      } catch (NumberFormatException e) {
        error(ctx.response(), 400, "bad_request", "wait must be a whole number of milliseconds", false);
        return;
      }
    }
    if (snapshot.settled() || waitMs == 0) {
      answerSession(ctx.response());
      return;
    }
    HttpServerRequest request = ctx.request();
    heldRequests.hold(request, waitMs, held -> answerSession(held.response()));
    request.connection().closeHandler(v -> {
      heldRequests.drop(request);
      headerDeadline.disarm(request.connection());
    });
  }

  /** The one answer to "what is my session?", from the latest snapshot. */
  private void answerSession(HttpServerResponse response) {
    SessionSnapshot s = snapshot;
    switch (s.status()) {
      case 200 -> json(response, 200, sessionBody(s, s.session()));
      case 409 -> error(response, 409, s.failure().code(), s.failure().getMessage(), false);
      case 502 -> error(response, 502, s.failure().code(), withoutPollingText(s.failure().getMessage()), s.failure().retryable());
      default -> error(response, 503, SessionUnavailable.BROKER_STARTING, "503 Service Unavailable: " + s.waitingFor(), true);
    }
  }

  /** SDKs keep polling while the text mentions 503; a refusal must make them stop at once with the cause. */
  private static String withoutPollingText(String message) {
    return message.replace("503", "5xx").replaceAll("(?i)service unavailable", "unavailable");
  }

  private JsonObject sessionBody(SessionSnapshot s, Session session) {
    JsonObject body = new JsonObject()
      .put("broker_version", BrokerVersion.VERSION)
      .put("protocol_version", PeerFields.PROTOCOL_VERSION)
      .put("workspace_key", session.workspaceKey());
    // default_workspace_id is "ws_unknown" until known, as 12.4.1 serves it (the SDK types it as a string).
    PeerFields.addToSession(body, session)
      .put("relay_base_url", session.baseUrl())
      .put("mode", session.mode())
      .put("uptime_secs", (System.currentTimeMillis() - startedAtMs) / 1000)
      .put("state", "ready")
      .put("rolling_over", s.busy())
      .put("presence", PeerFields.presence(s))
      .put("channels", new io.vertx.core.json.JsonArray(s.channels()));
    if (!s.channelErrors().isEmpty()) {
      body.put("channel_errors", new JsonObject(new HashMap<>(s.channelErrors())));
    }
    return body
      .put("agent", new JsonObject().put("id", session.agentId()).put("name", session.agentName()))
      // Which token is served, never the token: an operator (or the soak) can match it with the cloud's record.
      .put("token_fingerprint", Secrets.fingerprint(session.token()));
  }

  private void renew(RoutingContext ctx) {
    vertx.eventBus().send(bus.leaseRenew(), null, new DeliveryOptions().setLocalOnly(true));
    json(ctx.response(), 200, PeerFields.renewal(options.getMode() == BrokerMode.PERSIST, options.getLeaseSecs()));
  }

  /**
   * Rolls the token over and answers like {@code GET /api/session}. A rollover that failed while the current
   * token stays valid answers 200 with that session and says why in {@code refresh_error}; one still retrying
   * after {@link #REFRESH_ANSWER_MS} answers with the current session and goes on.
   */
  private void refresh(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(bus.sessionRefresh(), new JsonObject(), new DeliveryOptions().setSendTimeout(REFRESH_ANSWER_MS))
      .onSuccess(reply -> json(ctx.response(), 200, sessionBody(snapshot, Session.fromJson(reply.body()))))
      .onFailure(e -> {
        SessionSnapshot s = snapshot;
        if (s.status() == 200 && e instanceof SessionUnavailable failed && failed.failure() != null) {
          BrokerFailure why = failed.failure();
          json(ctx.response(), 200, sessionBody(s, s.session()).put("refresh_error",
            new JsonObject().put("code", why.code()).put("message", why.getMessage()).put("retryable", why.retryable())));
        } else {
          answerSession(ctx.response());
        }
      });
  }

  /** Prometheus text format: the broker's meters and, when the Vert.x has them, Vert.x's and the JVM's. */
  private void metrics(RoutingContext ctx) {
    if (metrics == null) {
      error(ctx.response(), 404, "not_found", "metrics are disabled (metrics.enabled is false)", false);
      return;
    }
    metrics.serve(ctx);
  }

  private void shutdown(RoutingContext ctx) {
    // Stop only once the answer is on the wire, so the client reads it before the socket closes.
    json(ctx.response(), 200, new JsonObject().put("status", "shutting_down"))
      .onComplete(v -> vertx.eventBus().send(bus.brokerShutdown(), "requested through /api/shutdown"));
  }

  private void eventStream(RoutingContext ctx) {
    long sinceSeq;
    try {
      sinceSeq = Long.parseLong(ctx.request().getParam("sinceSeq", "0"));
    } catch (NumberFormatException e) {
      error(ctx.response(), 400, "bad_request", "sinceSeq must be an integer", false);
      return;
    }
    ctx.request().toWebSocket().onSuccess(ws -> journal.attach(ws, sinceSeq));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Answers
  // ---------------------------------------------------------------------------------------------------------

  /** SPEC §3 error body: the four fields at the top level (what the SDK reads) and again under "error". */
  static JsonObject errorBody(int status, String code, String message, boolean retryable) {
    JsonObject fields = new JsonObject().put("code", code).put("message", message).put("retryable", retryable).put("statusCode", status);
    return fields.copy().put("error", fields);
  }

  static void error(HttpServerResponse response, int status, String code, String message, boolean retryable) {
    json(response, status, errorBody(status, code, message, retryable));
  }

  static Future<Void> json(HttpServerResponse response, int status, JsonObject body) {
    if (response.ended() || response.closed()) {
      return Future.succeededFuture();
    }
    return response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON).end(body.encode());
  }

  private Future<Void> deleteQuietly(String path) {
    return vertx.fileSystem().exists(path)
      .compose(exists -> exists ? vertx.fileSystem().delete(path) : Future.succeededFuture())
      .otherwiseEmpty();
  }
}
