package dev.relaybroker.emulator;

import dev.relaybroker.emulator.EmulatorState.Agent;
import dev.relaybroker.emulator.EmulatorState.TokenOwner;
import dev.relaybroker.emulator.EmulatorState.Workspace;
import dev.relaybroker.files.AtomicFiles;

import static dev.relaybroker.emulator.Envelopes.fail;
import static dev.relaybroker.emulator.Envelopes.jsonBody;
import static dev.relaybroker.emulator.Envelopes.ok;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A Relaycast-compatible cloud on loopback (SPEC §1 and §6): the test double of every scenario, the embedded
 * default of {@code scripts/run}, and a standalone server ({@code relay-broker emulator}).
 *
 * <p>It reproduces the live cloud's quirks on purpose (lean agent GET, register without {@code workspace_id},
 * envelopes everywhere) and both engine generations, and it shares no class with the broker's cloud client,
 * so a misreading of the protocol in one cannot hide the same misreading in the other.
 */
public class EmulatorVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(EmulatorVerticle.class);
  /** Beside a state file that could not be read whole: the original, kept before the next save rewrites the file. */
  static final String UNREADABLE_SUFFIX = ".unreadable";
  private static final int REQUEST_LOG_LIMIT = 10_000;

  private final EmulatorOptions options;
  private final EmulatorState state = new EmulatorState();
  private final List<FaultRule> faults = new ArrayList<>();
  private final Deque<JsonObject> requestLog = new ArrayDeque<>();
  private RealtimeHub realtime;
  private Engine engine;
  private long nextFaultId = 1;
  private HttpServer server;
  private Future<Void> lastStateWrite = Future.succeededFuture();

  private final boolean logListening;

  public EmulatorVerticle(EmulatorOptions options) {
    this(options, true);
  }

  /** @param logListening false when the caller announces the address itself (the standalone emulator, on stdout) */
  public EmulatorVerticle(EmulatorOptions options, boolean logListening) {
    this.options = options;
    this.logListening = logListening;
  }

  /** The port the emulator listens on; valid once deployed. */
  public int actualPort() {
    return server.actualPort();
  }

  public String baseUrl() {
    return "http://" + options.getHost() + ":" + actualPort();
  }

  @Override
  public Future<?> start() {
    engine = options.getEngine();
    realtime = new RealtimeHub(vertx);
    Router router = Router.router(vertx);
    router.route("/v1/*").handler(this::logRequest);
    // Before the body handler: an upgrade must reach toWebSocket() unread.
    router.get("/v1/ws").handler(this::acceptRealtime);
    router.route().handler(BodyHandler.create().setBodyLimit(options.getMaxBodyBytes()));
    router.route("/v1/*").handler(this::injectFault);
    mountCloud(router);
    mountAdmin(router);
    router.route().handler(this::unknownRoute);
    router.errorHandler(413, ctx -> fail(ctx, 413, "payload_too_large",
      "request body exceeds " + options.getMaxBodyBytes() + " bytes"));
    router.errorHandler(400, ctx -> fail(ctx, 400, "invalid_request", "malformed request"));
    router.errorHandler(500, ctx -> {
      LOG.warn("emulator handler failed on {} {}", ctx.request().method(), ctx.request().path(), ctx.failure());
      fail(ctx, 500, "internal_error", "emulator error");
    });

    return loadStateFile()
      .compose(v -> vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(60))
        .requestHandler(router)
        .listen(options.getPort(), options.getHost())
        .recover(e -> Future.failedFuture(new IllegalStateException("cannot listen on " + options.getHost() + ":"
          + options.getPort() + " (" + (e.getMessage() != null && e.getMessage().contains("in use")
            ? "address already in use: another program has that port; pick another --port, or 0 for any free one"
            : e.getMessage()) + ")", e))))
      .onSuccess(s -> {
        server = s;
        if (logListening) {
          LOG.info("Relaycast emulator ({} engine) listening on {}", engine.wireName(), baseUrl());
        }
      });
  }

  @Override
  public Future<?> stop() {
    return lastStateWrite.otherwiseEmpty();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Cloud API (SPEC §1)
  // ---------------------------------------------------------------------------------------------------------

  /**
   * The cloud API as the engine serves it (SPEC §1). Every route the published brokers call has a deliberate answer,
   * and an unknown one is logged as a warning: the next drift between the engine and this emulator shows itself.
   */
  private void mountCloud(Router router) {
    router.post("/v1/workspaces").handler(this::createWorkspace);
    router.post("/v1/agents").handler(withWorkspaceKey(this::registerAgent));
    router.get("/v1/agents/:name").handler(withWorkspaceKey((ctx, ws, body) -> getAgent(ctx, ws, ctx.pathParam("name"))));
    router.patch("/v1/agents/:name").handler(withWorkspaceKey((ctx, ws, body) -> updateAgent(ctx, ws, body, ctx.pathParam("name"))));
    router.post("/v1/agents/:name/rotate-token").handler(ctx -> rotateToken(ctx, ctx.pathParam("name")));
    for (String action : List.of("takeover", "recover")) {
      // Legacy engines have no such route: their 404 is what a broker meets there.
      router.post("/v1/agents/:name/" + action).handler(ctx -> {
        if (engine == Engine.CURRENT) {
          withWorkspaceKey((c, ws, body) -> takeOver(c, ws, body, c.pathParam("name"), action)).handle(ctx);
        } else {
          fail(ctx, 404, "not_found", "Route not found");
        }
      });
    }
    router.get("/v1/agent").handler(withAgentToken((ctx, owner, body) -> ok(ctx, 200, cloudRecord(owner.workspace(), owner.agent()))));
    router.get("/v1/channels").handler(withWorkspaceKey((ctx, ws, body) ->
      ok(ctx, 200, new JsonArray(ws.channels.values().stream().map(JsonObject::copy).toList()))));
    router.post("/v1/channels").handler(withAgentToken(this::createChannel));
    router.post("/v1/channels/:channel/join").handler(withAgentToken((ctx, owner, body) -> joinChannel(ctx, owner, ctx.pathParam("channel"))));
    router.post("/v1/channels/:channel/mute").handler(withAgentToken((ctx, owner, body) -> muteChannel(ctx, owner, ctx.pathParam("channel"))));
    // 12.4.1 registers itself as a node for its worker runtime; this emulator has no node-control plane, and the
    // broker carries on without one (its /health then says nodeConnected: false), as against an engine without nodes.
    router.route("/v1/nodes*").handler(ctx -> fail(ctx, 404, "not_found", "Route not found (this emulator has no node-control plane)"));
  }

  /** A route's body after the workspace key is checked and the JSON body parsed (an empty body is {}). */
  @FunctionalInterface
  private interface WorkspaceRoute {
    void handle(RoutingContext ctx, Workspace ws, JsonObject body);
  }

  /** A route's body after the agent token is checked and the JSON body parsed. */
  @FunctionalInterface
  private interface AgentRoute {
    void handle(RoutingContext ctx, TokenOwner owner, JsonObject body);
  }

  /** The preamble of every workspace-key route, said once: 401 without the key, 400 for a body that is not an object. */
  private Handler<RoutingContext> withWorkspaceKey(WorkspaceRoute route) {
    return ctx -> {
      Workspace ws = requireWorkspaceKey(ctx);
      JsonObject body = ws == null ? null : jsonBody(ctx);
      if (body != null) {
        route.handle(ctx, ws, body);
      }
    };
  }

  private Handler<RoutingContext> withAgentToken(AgentRoute route) {
    return ctx -> {
      TokenOwner owner = requireAgentToken(ctx);
      JsonObject body = owner == null ? null : jsonBody(ctx);
      if (body != null) {
        route.handle(ctx, owner, body);
      }
    };
  }

  private void unknownRoute(RoutingContext ctx) {
    if (ctx.request().path().startsWith("/v1/")) {
      LOG.warn("emulator: no route {} {} (a client calls a route this emulator does not know: the engine may have "
        + "moved on; answering 404)", ctx.request().method(), ctx.request().path());
    }
    fail(ctx, 404, "not_found", "Route not found");
  }

  /**
   * The agent record as the engine serves it. The current engine lists channel memberships as objects (relaycast
   * crate {@code AgentChannelMembership {id, name, role, joined_at}}; broker 12.4.1 refuses plain names); the legacy
   * engine lists names.
   */
  private JsonObject cloudRecord(Workspace ws, Agent agent) {
    return engine == Engine.CURRENT ? agent.recordWithMemberships(ws.channels) : agent.leanRecord();
  }

  private void createWorkspace(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    String name = body.getValue("name") instanceof String s ? s.trim() : null;
    if (name == null || name.isEmpty()) {
      fail(ctx, 400, "invalid_request", "name is required");
      return;
    }
    if (state.workspaceNameTaken(name)) {
      fail(ctx, 409, "name_taken", "Workspace name '" + name + "' is taken");
      return;
    }
    Workspace ws = state.createWorkspace(name, null);
    persist();
    ok(ctx, 201, new JsonObject().put("workspace_id", ws.id).put("api_key", ws.apiKey).put("created_at", ws.createdAt));
  }

  private void registerAgent(RoutingContext ctx, Workspace ws, JsonObject body) {
    Agent agent = createAgent(ctx, ws, body);
    if (agent == null) {
      return;
    }
    // The live cloud's register answer has no workspace_id: the broker must not need it.
    ok(ctx, 201, new JsonObject()
      .put("id", agent.id).put("name", agent.name).put("token", agent.token)
      .put("status", agent.status).put("created_at", agent.createdAt));
  }

  /**
   * The one validating create, shared by {@code POST /v1/agents} and the admin route so they cannot drift: the
   * request's own problems (name, metadata) first, then the conflict. Answers and returns null on a problem.
   */
  private Agent createAgent(RoutingContext ctx, Workspace ws, JsonObject body) {
    String name = body.getValue("name") instanceof String s ? s : null;
    String problem = nameProblem(name);
    if (problem == null && body.containsKey("metadata") && !(body.getValue("metadata") instanceof JsonObject)) {
      problem = "metadata must be an object";
    }
    if (problem == null && body.containsKey("type") && !(body.getValue("type") instanceof String)) {
      problem = "type must be a string";
    }
    if (problem != null) {
      fail(ctx, 400, "invalid_request", problem);
      return null;
    }
    if (ws.agents.containsKey(name)) {
      fail(ctx, 409, "agent_already_exists", "Agent '" + name + "' already exists");
      return null;
    }
    Agent agent = state.createAgent(ws, name, body.getString("type", "agent"), body.getJsonObject("metadata", new JsonObject()).copy());
    persist();
    return agent;
  }

  /** The workspace's agent of that name, or null after answering 404 {@code agent_not_found}. */
  private static Agent agentNamed(RoutingContext ctx, Workspace ws, String name) {
    Agent agent = ws.agents.get(name);
    if (agent == null) {
      fail(ctx, 404, "agent_not_found", "Agent '" + name + "' not found");
    }
    return agent;
  }

  private void getAgent(RoutingContext ctx, Workspace ws, String name) {
    Agent agent = agentNamed(ctx, ws, name);
    if (agent != null) {
      ok(ctx, 200, cloudRecord(ws, agent));
    }
  }

  private void rotateToken(RoutingContext ctx, String name) {
    String bearer = bearer(ctx);
    TokenOwner owner = state.tokenOwner(bearer);
    Workspace byKey = state.workspaceByKey(bearer);
    if (owner != null) {
      if (!owner.agent().name.equals(name)) {
        fail(ctx, 403, "forbidden", "token does not belong to agent '" + name + "'");
        return;
      }
      String oldToken = owner.agent().token;
      String token = state.rotateToken(owner.workspace(), owner.agent());
      // A self-rollover: the holder's open connections stay valid under the new token.
      realtime.followRollover(oldToken, token);
      persist();
      ok(ctx, 200, new JsonObject().put("name", name).put("token", token));
      return;
    }
    if (byKey == null) {
      fail(ctx, 401, "unauthorized", "invalid or missing credential");
      return;
    }
    Agent agent = byKey.agents.get(name);
    if (agent == null) {
      fail(ctx, 404, "agent_not_found", "Agent '" + name + "' not found");
      return;
    }
    if (engine == Engine.CURRENT) {
      fail(ctx, 401, "agent_token_required", "rotate-token needs the agent's own token; use takeover to reclaim a name");
      return;
    }
    String oldToken = agent.token;
    String token = state.rotateToken(byKey, agent);
    realtime.closeHeldBy(oldToken, "token rotated with the workspace key");
    persist();
    ok(ctx, 200, new JsonObject().put("name", name).put("token", token));
  }

  private void takeOver(RoutingContext ctx, Workspace ws, JsonObject body, String name, String action) {
    Agent agent = agentNamed(ctx, ws, name);
    if (agent == null) {
      return;
    }
    String expected = body.getValue("expected_agent_id") instanceof String s ? s : null;
    if (expected == null || expected.isBlank()) {
      fail(ctx, 400, "invalid_request", "expected_agent_id is required");
      return;
    }
    if (!expected.equals(agent.id)) {
      fail(ctx, 409, "agent_id_mismatch", "Agent '" + name + "' is no longer " + expected);
      return;
    }
    String oldToken = agent.token;
    String token = state.rotateToken(ws, agent);
    realtime.closeHeldBy(oldToken, "agent taken over (" + action + ")");
    JsonObject audit = state.recordAudit(action, agent, body);
    persist();
    ok(ctx, 200, new JsonObject()
      .put("agent_id", agent.id).put("name", agent.name).put("token", token).put("audit_id", audit.getString("audit_id")));
  }

  /** {@code POST /v1/channels} with an agent token: 201 the channel, 409 when the name exists. */
  private void createChannel(RoutingContext ctx, TokenOwner owner, JsonObject body) {
    String name = body.getValue("name") instanceof String s ? s.trim() : "";
    if (name.isEmpty() || name.length() > 80) {
      fail(ctx, 400, "invalid_request", "channel name must be 1..80 characters");
      return;
    }
    if (owner.workspace().channels.containsKey(name)) {
      fail(ctx, 409, "channel_already_exists", "Channel '" + name + "' already exists");
      return;
    }
    JsonObject channel = new JsonObject().put("id", "ch_" + EmulatorState.randomHex(6)).put("name", name)
      .put("topic", body.getValue("topic") instanceof String t ? t : null).put("created_at", EmulatorState.now());
    owner.workspace().channels.put(name, channel);
    persist();
    ok(ctx, 201, channel.copy());
  }

  /** {@code POST /v1/channels/{name}/join} with an agent token. */
  private void joinChannel(RoutingContext ctx, TokenOwner owner, String name) {
    if (!owner.workspace().channels.containsKey(name)) {
      fail(ctx, 404, "channel_not_found", "Channel '" + name + "' not found");
      return;
    }
    boolean already = owner.agent().channels.putIfAbsent(name, EmulatorState.now()) != null;
    persist();
    ok(ctx, 200, new JsonObject().put("channel", name).put("agent_id", owner.agent().id).put("already_member", already));
  }

  /**
   * {@code POST /v1/channels/{name}/mute} with an agent token: 12.4.1 mutes each channel it joins for its own
   * identity (its workers get the messages instead). Remembered per agent; nothing else here reads it.
   */
  private void muteChannel(RoutingContext ctx, TokenOwner owner, String name) {
    if (!owner.agent().channels.containsKey(name)) {
      fail(ctx, 404, "channel_not_found", "Agent '" + owner.agent().name + "' is not a member of channel '" + name + "'");
      return;
    }
    owner.agent().mutedChannels.add(name);
    ok(ctx, 200, new JsonObject().put("channel", name).put("agent_id", owner.agent().id).put("muted", true));
  }

  /** {@code PATCH /v1/agents/{name}} with the workspace key: what a stopping broker says ({@code status: offline}). */
  private void updateAgent(RoutingContext ctx, Workspace ws, JsonObject body, String name) {
    Agent agent = agentNamed(ctx, ws, name);
    if (agent == null) {
      return;
    }
    if (body.containsKey("status")) {
      if (!(body.getValue("status") instanceof String s) || !List.of("online", "active", "offline").contains(s)) {
        fail(ctx, 400, "invalid_request", "status must be online, active or offline");
        return;
      }
      agent.status = s;
      agent.lastSeen = EmulatorState.now();
    }
    persist();
    ok(ctx, 200, cloudRecord(ws, agent));
  }

  private TokenOwner requireAgentToken(RoutingContext ctx) {
    TokenOwner owner = state.tokenOwner(bearer(ctx));
    if (owner == null) {
      fail(ctx, 401, "unauthorized", "invalid or missing agent token");
    }
    return owner;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Realtime: the upgrade (connections themselves live in RealtimeHub)
  // ---------------------------------------------------------------------------------------------------------

  private void acceptRealtime(RoutingContext ctx) {
    FaultRule rule = faults.stream().filter(f -> f.matches("GET", ctx.request().path())).findFirst().orElse(null);
    if (rule == null) {
      upgrade(ctx, null);
      return;
    }
    rule.consume();
    ((JsonObject) ctx.get("logEntry")).put("fault", rule.kind.name().toLowerCase());
    switch (rule.kind.onRealtime()) {
      // A refused upgrade: the fault answers the HTTP request instead.
      case REFUSE_UPGRADE -> later(rule, () -> answerWithFault(ctx, rule, ctx.get("logEntry")));
      case ACCEPT_AFTER_DELAY -> later(rule, () -> upgrade(ctx, null));
      case ACCEPT_THEN_SHAPE -> upgrade(ctx, rule);
    }
  }

  private void upgrade(RoutingContext ctx, FaultRule rule) {
    if (ctx.response().closed()) {
      return;
    }
    TokenOwner owner = state.tokenOwner(ctx.request().getParam("token"));
    if (owner == null) {
      fail(ctx, 401, "invalid_token", "agent token is invalid or was rotated");
      return;
    }
    ctx.request().toWebSocket().onSuccess(socket -> {
      ((JsonObject) ctx.get("logEntry")).put("status", 101);
      realtime.accept(socket, owner.agent(), rule);
    });
  }

  private void adminSendEvent(RoutingContext ctx) {
    AdminTarget target = adminTarget(ctx);
    if (target == null) {
      return;
    }
    Agent agent = target.agent();
    JsonObject body = target.body();
    JsonObject event = (body.getValue("event") instanceof JsonObject e ? e.copy() : new JsonObject())
      .put("type", "event").put("agent_seq", agent.nextEventSeq++);
    agent.events.add(event);
    if (agent.events.size() > 1000) {
      agent.events.remove(0);
    }
    long delivered = realtime.deliver(agent, event);
    ok(ctx, 200, new JsonObject().put("agent_seq", event.getLong("agent_seq")).put("delivered", delivered));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Faults and the request log
  // ---------------------------------------------------------------------------------------------------------

  private void logRequest(RoutingContext ctx) {
    JsonObject entry = new JsonObject()
      .put("method", ctx.request().method().name())
      .put("path", ctx.request().path())
      .put("credential", credentialKind(bearer(ctx) != null ? bearer(ctx) : ctx.request().getParam("token")))
      .put("at", EmulatorState.now());
    ctx.response().headersEndHandler(v -> entry.put("status", ctx.response().getStatusCode()));
    requestLog.addLast(entry);
    if (requestLog.size() > REQUEST_LOG_LIMIT) {
      requestLog.removeFirst();
    }
    ctx.put("logEntry", entry);
    ctx.next();
  }

  private void injectFault(RoutingContext ctx) {
    String method = ctx.request().method().name();
    String path = ctx.request().path();
    FaultRule rule = faults.stream().filter(f -> f.matches(method, path)).findFirst().orElse(null);
    if (rule == null) {
      ctx.next();
      return;
    }
    rule.consume();
    JsonObject entry = ctx.get("logEntry");
    entry.put("fault", rule.kind.name().toLowerCase());
    switch (rule.kind.onRest()) {
      case ANSWER_INSTEAD -> later(rule, () -> answerWithFault(ctx, rule, entry));
      case PROCEED -> later(rule, ctx::next);
      case PROCEED_THEN_LOSE_REPLY -> later(rule, () -> {
        // The route does its work; Envelopes closes the connection where it would have answered.
        ctx.put(Envelopes.LOSE_REPLY, true);
        ctx.next();
      });
      case HANG -> {
        entry.put("status", 0);
        if (rule.kind == FaultRule.Kind.FREEZE) {
          ctx.request().pause();
        }
      }
    }
  }

  private void later(FaultRule rule, Runnable action) {
    if (rule.delayMs > 0) {
      vertx.setTimer(rule.delayMs, t -> action.run());
    } else {
      action.run();
    }
  }

  private void answerWithFault(RoutingContext ctx, FaultRule rule, JsonObject entry) {
    var response = ctx.response();
    if (response.closed()) {
      return;
    }
    switch (rule.kind) {
      case DELAY, DROP, MUTE, FREEZE -> throw new IllegalStateException(rule.kind + " does not answer instead");
      case RESET -> {
        entry.put("status", 0);
        ctx.request().connection().close();
      }
      case MALFORMED -> response.setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end("{\"ok\": true, \"data\": {\"id\": ");
      case HTML -> response.setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, "text/html")
        .end("<!doctype html><html><head><title>Sign in to continue</title></head><body>Wi-Fi login</body></html>");
      case EMPTY -> response.setStatusCode(200).end();
      case STATUS -> {
        if (rule.retryAfterSecs != null) {
          response.putHeader("Retry-After", String.valueOf(rule.retryAfterSecs));
        }
        if (rule.body != null) {
          response.setStatusCode(rule.status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(rule.body);
        } else {
          String code = rule.code != null ? rule.code : defaultCode(rule.status);
          fail(ctx, rule.status, code, rule.message != null ? rule.message : "injected fault " + rule.status);
        }
      }
    }
  }

  private static String defaultCode(int status) {
    return switch (status) {
      case 400 -> "invalid_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 409 -> "conflict";
      case 429 -> "rate_limited";
      case 502 -> "bad_gateway";
      case 503 -> "service_unavailable";
      case 504 -> "gateway_timeout";
      default -> status >= 500 ? "internal_error" : "error";
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Admin API (/_emulator/)
  // ---------------------------------------------------------------------------------------------------------

  private void mountAdmin(Router router) {
    router.post("/_emulator/workspaces").handler(this::adminCreateWorkspace);
    router.post("/_emulator/agents").handler(this::adminCreateAgent);
    router.get("/_emulator/agents").handler(this::adminListAgents);
    router.post("/_emulator/agents/status").handler(this::adminSetStatus);
    router.post("/_emulator/agents/remove").handler(this::adminRemoveAgent);
    router.post("/_emulator/faults").handler(this::adminAddFault);
    router.get("/_emulator/faults").handler(ctx -> ok(ctx, 200, new JsonArray(faults.stream().map(FaultRule::toJson).toList())));
    router.delete("/_emulator/faults").handler(ctx -> {
      faults.clear();
      ok(ctx, 200, new JsonObject().put("cleared", true));
    });
    router.get("/_emulator/requests").handler(ctx -> ok(ctx, 200, new JsonArray(new ArrayList<>(requestLog))));
    router.delete("/_emulator/requests").handler(ctx -> {
      requestLog.clear();
      ok(ctx, 200, new JsonObject().put("cleared", true));
    });
    router.get("/_emulator/audit").handler(ctx -> ok(ctx, 200, new JsonArray(new ArrayList<>(state.audit()))));
    router.get("/_emulator/engine").handler(ctx -> ok(ctx, 200, new JsonObject().put("engine", engine.wireName())));
    router.post("/_emulator/engine").handler(this::adminSetEngine);
    router.post("/_emulator/agents/event").handler(this::adminSendEvent);
    router.post("/_emulator/agents/tokens").handler(ctx -> {
      AdminTarget target = adminTarget(ctx);
      if (target != null) {
        ok(ctx, 200, new JsonArray(target.agent().tokenHistory.stream().map(JsonObject::copy).toList()));
      }
    });
    router.post("/_emulator/reset").handler(ctx -> {
      realtime.closeAll("emulator reset");
      state.clear();
      faults.clear();
      requestLog.clear();
      engine = options.getEngine();
      persist();
      ok(ctx, 200, new JsonObject().put("reset", true));
    });
  }

  private void adminCreateWorkspace(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    Object key = body.getValue("api_key");
    if (key != null && !(key instanceof String s && s.startsWith("rk_") && s.length() >= 8)) {
      fail(ctx, 400, "invalid_request", "api_key must be a string starting with rk_ (at least 8 characters)");
      return;
    }
    if (key != null && state.workspaceByKey((String) key) != null) {
      fail(ctx, 409, "conflict", "a workspace with that api_key exists");
      return;
    }
    String name = body.getValue("name") instanceof String n ? n : "ws-" + EmulatorState.randomHex(4);
    Workspace ws = state.createWorkspace(name, (String) key);
    persist();
    ok(ctx, 201, new JsonObject().put("workspace_id", ws.id).put("api_key", ws.apiKey).put("name", ws.name));
  }

  private void adminCreateAgent(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    Workspace ws = adminWorkspace(ctx, body);
    if (ws == null) {
      return;
    }
    Agent agent = createAgent(ctx, ws, body);
    if (agent == null) {
      return;
    }
    if (body.getValue("status") instanceof String status) {
      agent.status = status;
      persist();
    }
    ok(ctx, 201, adminAgentJson(ws, agent));
  }

  private void adminListAgents(RoutingContext ctx) {
    String key = ctx.request().getParam("workspace_key");
    JsonArray agents = new JsonArray();
    for (Workspace ws : state.workspaces()) {
      if (key == null || key.equals(ws.apiKey)) {
        ws.agents.values().forEach(agent -> agents.add(adminAgentJson(ws, agent)));
      }
    }
    ok(ctx, 200, agents);
  }

  private void adminSetStatus(RoutingContext ctx) {
    AdminTarget target = adminTarget(ctx);
    if (target == null) {
      return;
    }
    Object status = target.body().getValue("status");
    if (!(status instanceof String s) || !List.of("online", "active", "offline").contains(s)) {
      fail(ctx, 400, "invalid_request", "status must be online, active or offline");
      return;
    }
    target.agent().status = (String) status;
    target.agent().lastSeen = EmulatorState.now();
    ok(ctx, 200, adminAgentJson(target.workspace(), target.agent()));
  }

  /** As if someone deleted the agent in the dashboard: its token dies and its realtime connections close. */
  private void adminRemoveAgent(RoutingContext ctx) {
    AdminTarget target = adminTarget(ctx);
    if (target == null) {
      return;
    }
    state.removeAgent(target.workspace(), target.agent());
    realtime.closeHeldBy(target.agent().token, "agent removed");
    persist();
    ok(ctx, 200, adminAgentJson(target.workspace(), target.agent()));
  }

  /** The agent an admin call names by {@code workspace_key} and {@code name}. */
  private record AdminTarget(JsonObject body, Workspace workspace, Agent agent) {
  }

  /** Reads the body and finds the agent it names, or answers the error and returns null. */
  private AdminTarget adminTarget(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return null;
    }
    Workspace ws = adminWorkspace(ctx, body);
    if (ws == null) {
      return null;
    }
    Agent agent = ws.agents.get(body.getValue("name") instanceof String n ? n : "");
    if (agent == null) {
      fail(ctx, 404, "agent_not_found", "no such agent in that workspace");
      return null;
    }
    return new AdminTarget(body, ws, agent);
  }

  private void adminAddFault(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    List<String> problems = new ArrayList<>();
    FaultRule rule = FaultRule.parse(nextFaultId, body, problems);
    if (rule == null) {
      fail(ctx, 400, "invalid_request", String.join("; ", problems));
      return;
    }
    nextFaultId++;
    faults.add(rule);
    ok(ctx, 201, rule.toJson());
  }

  private void adminSetEngine(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body == null) {
      return;
    }
    try {
      engine = Engine.parse(String.valueOf(body.getValue("engine")));
      ok(ctx, 200, new JsonObject().put("engine", engine.wireName()));
    } catch (IllegalArgumentException e) {
      fail(ctx, 400, "invalid_request", "engine must be legacy or current");
    }
  }

  private Workspace adminWorkspace(RoutingContext ctx, JsonObject body) {
    Workspace ws = state.workspaceByKey(body.getValue("workspace_key") instanceof String k ? k : null);
    if (ws == null) {
      fail(ctx, 404, "workspace_not_found", "workspace_key names no workspace of this emulator");
    }
    return ws;
  }

  private static JsonObject adminAgentJson(Workspace ws, Agent agent) {
    return agent.leanRecord().put("token", agent.token).put("workspace_id", ws.id).put("created_at", agent.createdAt);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Plumbing
  // ---------------------------------------------------------------------------------------------------------

  private Workspace requireWorkspaceKey(RoutingContext ctx) {
    Workspace ws = state.workspaceByKey(bearer(ctx));
    if (ws == null) {
      fail(ctx, 401, "unauthorized", "invalid or missing workspace key");
    }
    return ws;
  }

  private static String nameProblem(String name) {
    if (name == null || name.isBlank()) {
      return "name is required";
    }
    if (name.length() > 128) {
      return "name must be at most 128 characters";
    }
    if (name.chars().anyMatch(Character::isISOControl)) {
      return "name must not contain control characters";
    }
    return null;
  }

  private static String bearer(RoutingContext ctx) {
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String value = header.substring(7).trim();
    return value.isEmpty() ? null : value;
  }

  private static String credentialKind(String bearer) {
    if (bearer == null) {
      return "none";
    }
    if (bearer.startsWith("rk_")) {
      return "workspace-key";
    }
    return bearer.startsWith("at_") ? "agent-token" : "other";
  }

  private Future<Void> loadStateFile() {
    String file = options.getStateFile();
    if (file == null) {
      return Future.succeededFuture();
    }
    return vertx.fileSystem().exists(file).compose(exists -> {
      if (!exists) {
        return Future.succeededFuture();
      }
      return AtomicFiles.readNoFollow(vertx, file).compose(buffer -> {
        int skipped;
        try {
          skipped = state.loadFrom(buffer.toJsonObject());
        } catch (RuntimeException corrupt) {
          state.clear();
          skipped = -1;
        }
        if (skipped == 0) {
          return Future.<Void>succeededFuture();
        }
        // A state file is a convenience: a damaged one must not stop the emulator from serving, and the next save
        // must not destroy what could not be read. The original is kept beside it first.
        String aside = file + UNREADABLE_SUFFIX;
        LOG.warn("emulator state file {} {}; the original is kept as {}", file, skipped < 0 ? "is unreadable, starting empty"
          : "has " + skipped + " unreadable " + (skipped == 1 ? "entry" : "entries") + ", loaded the rest", aside);
        return AtomicFiles.writeOwnerOnly(vertx, aside, buffer);
      });
    });
  }

  /** Writes the state file after a change; writes are chained so they land in order. */
  private void persist() {
    String file = options.getStateFile();
    if (file == null) {
      return;
    }
    Buffer snapshot = state.toJson().toBuffer();
    lastStateWrite = lastStateWrite
      .otherwiseEmpty()
      .compose(v -> AtomicFiles.writeOwnerOnly(vertx, file, snapshot))
      .onFailure(e -> LOG.warn("could not write emulator state file {}: {}", file, e.getMessage()));
  }
}
