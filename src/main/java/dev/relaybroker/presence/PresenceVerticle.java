package dev.relaybroker.presence;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.bus.Secrets;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.Session;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import dev.relaybroker.cloud.AgentRecord;
import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.cloud.CloudText;
import dev.relaybroker.cloud.RelaycastClient;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.config.PresenceOptions;
import dev.relaybroker.bus.TakeoverFact;
import dev.relaybroker.cloud.CloudCallObserver;
import dev.relaybroker.cloud.RetryPolicy;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Holds the agent's realtime WebSocket, so the cloud sees a running broker as live and the default reclaim
 * policy protects it from being taken over by a second machine.
 *
 * <p>Lifecycle: each resolved session (a new token) opens a new connection before the old one is closed, so a
 * token rollover leaves no gap in {@code online}. A dropped connection is reconnected with backoff. A token that
 * is rejected although we did not roll it is checked with the cloud: still valid means a realtime hiccup (reconnect);
 * dead means another installation took the identity over: presence asks the identity verticle to record the
 * takeover (it alone decides what is served), enters {@code superseded}, and never fights back on its own (no
 * ping-pong between two machines). What presence knows of the session it reads from the {@link SessionSnapshot}.
 */
public class PresenceVerticle extends VerticleBase {
  /** Close code the cloud uses for a connection whose token was rotated by someone else. */
  public static final short TOKEN_INVALIDATED = 4001;
  private static final Logger LOG = LoggerFactory.getLogger(PresenceVerticle.class);

  private final PresenceOptions options;
  private final CloudOptions cloudOptions;
  private final CloudCallObserver observer;
  private final BrokerBus bus;
  /** The broker's health procedures; presence owns {@code realtime}. */
  private final HealthChecks health;
  private WebSocketClient client;
  private RelaycastClient cloud;
  /**
   * Reconnects since the last pong: how long each waits (the broker's one {@link RetryPolicy}, with no limit) and
   * what the log hears of them (an outage may last a day).
   */
  private RetryPolicy.Streak reconnects;

  private Session session;
  private WebSocket socket;
  /** The connection being opened; its first frames may arrive before it is adopted. */
  private WebSocket opening;
  /** Written on this verticle's event loop; volatile for the health procedure, which may run elsewhere. */
  private volatile PresenceState state;
  private boolean awaitingPong;
  /**
   * The last realtime event sequence number seen, per agent id: the cloud numbers each agent's events from 1, so
   * a new agent (a re-register after a removal) must not be measured against the old one's count.
   */
  private final Map<String, Long> lastSeenSeq = new HashMap<>();
  private long reconnectTimer = -1;
  private boolean stopping;

  /**
   * @param bus      the broker's event-bus addresses
   * @param observer told of each REST call presence makes (its token and record checks), for the metrics
   * @param health   the broker's health procedures: presence registers {@code realtime} there for as long as it runs
   */
  public PresenceVerticle(PresenceOptions options, CloudOptions cloudOptions, BrokerBus bus, CloudCallObserver observer,
                          HealthChecks health) {
    this.bus = bus;
    this.health = health;
    this.observer = observer;
    this.options = options;
    this.cloudOptions = cloudOptions;
  }

  @Override
  public Future<?> start() {
    client = vertx.createWebSocketClient(new WebSocketClientOptions()
      .setConnectTimeout(options.getConnectTimeoutMs())
      .setMaxFrameSize(256 * 1024));
    reconnects = RetryPolicy.backoff(options.getReconnectInitialDelayMs(), options.getReconnectMaxDelayMs()).streak();
    vertx.eventBus().<SessionSnapshot>localConsumer(bus.sessionSnapshot(), message -> onSnapshot(message.body()));
    vertx.eventBus().<JsonObject>localConsumer(bus.presenceCheckRefusal(), message -> onRefusalDue(message.body()));
    vertx.setPeriodic(options.getPingIntervalMs(), id -> ping());
    health.register("realtime", promise -> {
      PresenceState now = state == null ? PresenceState.CONNECTING : state;
      JsonObject data = new JsonObject().put("presence", now.wireName());
      promise.complete(now == PresenceState.ONLINE ? Status.OK(data) : Status.KO(data));
    });
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    health.unregister("realtime");
    Future<Void> closed = socket == null ? Future.succeededFuture() : socket.close((short) 1000, "broker stopping");
    if (cloud != null) {
      cloud.close();
    }
    return closed.otherwiseEmpty().compose(v -> client.close());
  }

  /** The snapshot says which token to hold: a new one is connected at once (make before break). */
  private void onSnapshot(SessionSnapshot snapshot) {
    if (snapshot.state() == SessionState.STOPPING) {
      // The broker's stop absorbs everything: no reconnect is scheduled or run any more; stop() closes the socket.
      stopping = true;
      cancelReconnect();
      return;
    }
    Session resolved = snapshot.session();
    if (resolved != null && (session == null || !session.token().equals(resolved.token()))) {
      onNewToken(resolved);
    }
  }

  private void onNewToken(Session resolved) {
    session = resolved;
    if (state == PresenceState.SUPERSEDED) {
      LOG.info("Agent '{}' was reclaimed on request; holding its realtime connection again", resolved.agentName());
    }
    cancelReconnect();
    connect();
  }

  private void connect() {
    if (stopping) {
      return;
    }
    Session target = session;
    if (state != PresenceState.ONLINE) {
      enter(PresenceState.CONNECTING, "connecting agent '" + target.agentName() + "' to the realtime service", null, null);
    }
    // Handlers go on before connecting: frames that arrive in the same read as the handshake are delivered
    // before the connect future's callbacks run, and a handler set there would miss them.
    ClientWebSocket ws = client.webSocket();
    opening = ws;
    ws.textMessageHandler(text -> onMessage(ws, target, text));
    ws.closeHandler(v -> onClosed(ws, target));
    ws.exceptionHandler(error -> LOG.debug("realtime connection error: {}", error.getMessage()));
    ws.connect(connectOptions(target)).onComplete(done -> {
      if (opening == ws) {
        opening = null;
      }
      if (done.succeeded()) {
        adopt(ws, target);
      } else {
        onConnectFailed(target, done.cause());
      }
    });
  }

  /** Make before break: the new connection is up before the previous one is closed. */
  private void adopt(WebSocket ws, Session target) {
    if (stopping || target != session) {
      // A newer session arrived while this one was connecting; its own connection is on the way.
      ws.close((short) 1000, "superseded by a newer token");
      return;
    }
    if (ws.isClosed()) {
      // Closed before it was adopted, when its close handler still ignored it: react as to any close.
      reactToClose(ws, target);
      return;
    }
    WebSocket previous = socket;
    socket = ws;
    // The backoff and the retry log start over only at the first pong (see onMessage): a cloud that accepts and
    // drops at once must meet longer and longer waits, not a reconnect a second forever.
    awaitingPong = false;
    long seen = lastSeenSeq.getOrDefault(target.agentId(), 0L);
    if (seen > 0) {
      ws.writeTextMessage(new JsonObject().put("type", "resync").put("last_seen_seq", seen).encode());
    }
    if (state != PresenceState.ONLINE) {
      LOG.info("Agent '{}' is online (realtime connection open)", target.agentName());
    }
    enter(PresenceState.ONLINE, "agent '" + target.agentName() + "' is online", null, null);
    if (previous != null) {
      previous.close((short) 1000, "replaced by a connection with the new token");
    }
  }

  private void onClosed(WebSocket ws, Session target) {
    if (ws != socket || stopping) {
      return;
    }
    socket = null;
    reactToClose(ws, target);
  }

  private void reactToClose(WebSocket ws, Session target) {
    Short code = ws.closeStatusCode();
    String reason = ws.closeReason() == null ? "" : cloudText(target).clean(ws.closeReason());
    if ((code != null && code == TOKEN_INVALIDATED) || reason.startsWith("token_invalidated")) {
      onTokenRejected(target, "the cloud closed the connection: " + reason, true);
    } else {
      scheduleReconnect("connection closed (" + code + (reason.isEmpty() ? "" : " " + reason) + ")");
    }
  }

  private void onConnectFailed(Session target, Throwable error) {
    if (stopping || target != session) {
      return;
    }
    if (error instanceof UpgradeRejectedException rejected && (rejected.getStatus() == 401 || rejected.getStatus() == 403)) {
      onTokenRejected(target, "the realtime service refused the token (" + rejected.getStatus() + ")", false);
    } else {
      scheduleReconnect("cannot connect (" + cloudText(target).clean(error.getMessage()) + ")");
    }
  }

  /**
   * Our token was rejected. If our own refresh produced a newer one, use it. Otherwise report the refusal to
   * identity, which decides (presence keeps no copy of identity's state): while a flow runs the refusal may be its
   * own rollover and waits for the flow's end; else presence asks the cloud before giving anything up: a token that
   * still works means a realtime hiccup, so reconnect; a dead one means another installation rolled the identity
   * over, so step back and say who holds it now, rather than take it back and start a ping-pong.
   *
   * @param invalidated the cloud closed the connection with 4001 {@code token_invalidated}: that is proof the token
   *                    is dead (SPEC §2 step 7), so presence steps back before asking anything. The soak found
   *                    brokers that kept serving such a token while a check or a record read waited on the cloud.
   */
  private void onTokenRejected(Session target, String why, boolean invalidated) {
    if (!session.token().equals(target.token())) {
      if (opening == null) {
        connect(); // unless the new session's connection is already on its way
      }
      return;
    }
    // Identity decides whether the refusal is worth a check: with a flow under way it may be our own rollover.
    JsonObject refusal = new JsonObject().put("token", Secrets.fingerprint(target.token())).put("why", why).put("invalidated", invalidated);
    vertx.eventBus().<String>request(bus.identityTokenRefused(), refusal, new DeliveryOptions().setLocalOnly(true))
      .onComplete(answer -> {
        if (isStale(target)) {
          return;
        }
        switch (answer.succeeded() ? answer.result().body() : "check") {
          case "check" -> checkRefusal(target, why, invalidated);
          case "wait" -> enter(PresenceState.OFFLINE, why + "; waiting for the identity flow under way", null, null);
          // Stale: identity serves another token (its snapshot connects us) or none (failed, superseded).
          default -> enter(PresenceState.OFFLINE, why + "; the broker no longer serves that token", null, null);
        }
      });
  }

  /** A refusal identity held while its flow ran, still about the token we hold now: check it after all. */
  private void onRefusalDue(JsonObject refusal) {
    if (session != null && !stopping && Secrets.fingerprint(session.token()).equals(refusal.getString("token"))) {
      checkRefusal(session, refusal.getString("why"), refusal.getBoolean("invalidated", false));
    }
  }

  /**
   * Ask the cloud what the refusal means: a token that still works is a realtime hiccup (reconnect); a dead one
   * means another installation holds the agent (step back, say who).
   */
  private void checkRefusal(Session target, String why, boolean invalidated) {
    RelaycastClient cloud = cloud(target);
    if (invalidated) {
      // Proof: the token is withdrawn at once, and the record is read afterwards only to say who holds the agent
      // now. The soak saw a read the cloud was slow to answer keep a dead token served for 3 s.
      stepBack(target, fact(target, why, null, true), () -> cloud.getAgent(target.workspaceKey(), target.agentName())
        .onComplete(record -> {
          if (state == PresenceState.SUPERSEDED && !isStale(target)) {
            stepBack(target, fact(target, why, record, false), null);
          }
        }));
      return;
    }
    cloud.getSelf(target.token())
      .<Runnable>transform(self -> {
        if (self.succeeded()) {
          return Future.succeededFuture(() -> scheduleReconnect(why + ", but the cloud still accepts the token"));
        }
        if (!isRejected(self.cause())) {
          return Future.succeededFuture(() -> scheduleReconnect(why + "; could not check the token (" + self.cause().getMessage() + ")"));
        }
        if (isStale(target)) {
          return Future.succeededFuture(() -> { }); // nothing to read the record for
        }
        return cloud.getAgent(target.workspaceKey(), target.agentName())
          .transform(record -> Future.succeededFuture(() -> supersede(target, why, record)));
      })
      .onSuccess(reaction -> {
        if (!isStale(target)) {
          reaction.run();
        }
      });
  }

  /** Cloud-supplied text (a close reason, an error quoting the URL with its token) as it may be logged and served. */
  private static CloudText cloudText(Session target) {
    return CloudText.shapesOnly().remember(target.token()).remember(target.workspaceKey());
  }

  /** Stopping, or a newer session arrived meanwhile and has its own connection. */
  private boolean isStale(Session target) {
    return stopping || target != session;
  }

  /**
   * Superseded needs proof of another holder: the record names another agent or was taken over (it answered),
   * or the agent is gone. A workspace key the cloud refuses too (a cloud that forgot the workspace) is no
   * takeover: identity reruns the flow and fails with {@code workspace_key_rejected}, and nothing is marked. Any
   * other failure to read the record proves nothing yet: reconnect and check again. (A 4001 close is proof
   * enough and does not come here.)
   */
  private void supersede(Session target, String why, AsyncResult<AgentRecord> record) {
    String name = target.agentName();
    if (record.failed() && BrokerFailure.of(record.cause()).is(FailureCause.WORKSPACE_KEY_REJECTED)) {
      LOG.warn("Agent '{}': the cloud refused its token ({}) and also the workspace key; not a takeover: checking the identity again",
        name, why);
      enter(PresenceState.OFFLINE, why + "; the workspace key is refused too, so the identity flow runs again", null, null);
      vertx.eventBus().request(bus.sessionRefresh(), null, new DeliveryOptions().setLocalOnly(true).setSendTimeout(120_000));
      return;
    }
    if (record.failed() && !BrokerFailure.of(record.cause()).is(FailureCause.AGENT_NOT_FOUND)) {
      scheduleReconnect(why + "; could not learn who holds the agent now (" + record.cause().getMessage() + ")");
      return;
    }
    stepBack(target, fact(target, why, record, false), null);
  }

  /** What presence saw, with what the record (null: not read, or unreadable) says; identity words it. */
  private static TakeoverFact fact(Session target, String why, AsyncResult<AgentRecord> record, boolean provisional) {
    TakeoverFact.Record read;
    String holderId = null;
    if (record == null || (record.failed() && !BrokerFailure.of(record.cause()).is(FailureCause.AGENT_NOT_FOUND))) {
      read = TakeoverFact.Record.NOT_READ;
    } else if (record.failed()) {
      read = TakeoverFact.Record.REMOVED;
    } else if (!record.result().id().equals(target.agentId())) {
      read = TakeoverFact.Record.OTHER_AGENT;
      holderId = record.result().id();
    } else {
      read = record.result().isLive() ? TakeoverFact.Record.SAME_AGENT_LIVE : TakeoverFact.Record.SAME_AGENT;
    }
    return new TakeoverFact(target.agentId(), target.agentName(), target.token(), why, read, holderId, provisional);
  }

  /**
   * Identity first: it decides what the fact means, withdraws the token from every surface (or, told again, takes
   * the more precise account), and answers with the words a person reads; then presence enters that state and
   * runs {@code then} (the record read that makes a provisional fact precise).
   */
  private void stepBack(Session target, TakeoverFact fact, Runnable then) {
    vertx.eventBus().<JsonObject>request(bus.identitySuperseded(), fact.toJson(), new DeliveryOptions().setLocalOnly(true))
      .onComplete(answer -> {
        if (isStale(target)) {
          return;
        }
        if (answer.succeeded() && answer.result().body().getBoolean("recorded", false)) {
          enter(PresenceState.SUPERSEDED, answer.result().body().getString("message"), null, null);
          if (then != null) {
            then.run();
          }
        } else if (state != PresenceState.SUPERSEDED) {
          // Identity did not record it (our own takeover landing late, or a newer token on its way): its next
          // session reconnects us.
          enter(PresenceState.OFFLINE, "the agent's token was refused; waiting for the identity flow", null, null);
        }
      });
  }

  private static boolean isRejected(Throwable error) {
    BrokerFailure failure = BrokerFailure.of(error);
    return failure.isStatus(401) || failure.isStatus(403);
  }

  /** Made on first use: the base URL comes with the session, and a broker talks to one cloud all its life. */
  private RelaycastClient cloud(Session target) {
    if (cloud == null) {
      cloud = new RelaycastClient(vertx, target.baseUrl(), cloudOptions, observer);
    }
    return cloud;
  }

  private void scheduleReconnect(String why) {
    if (stopping || state == PresenceState.SUPERSEDED) {
      return;
    }
    RetryPolicy.Wait wait = reconnects.failed(true, null);
    long delayMs = wait.delayMs();
    String message = why + "; reconnecting in " + delayMs + " ms (attempt " + wait.attempt() + ")";
    String line = reconnects.logLine(message);
    if (line != null) {
      LOG.info("Agent '{}' realtime: {}", session.agentName(), line);
    }
    enter(PresenceState.OFFLINE, message, wait.attempt(), delayMs);
    reconnectTimer = vertx.setTimer(delayMs, t -> {
      reconnectTimer = -1;
      connect();
    });
  }

  private void cancelReconnect() {
    if (reconnectTimer >= 0) {
      vertx.cancelTimer(reconnectTimer);
      reconnectTimer = -1;
    }
  }

  /** A ping still unanswered when the next one is due means the connection is dead, even if TCP says otherwise. */
  private void ping() {
    WebSocket current = socket;
    if (current == null) {
      return;
    }
    if (awaitingPong) {
      socket = null;
      current.close((short) 1000, "no pong");
      scheduleReconnect("no pong within " + options.getPingIntervalMs() + " ms");
      return;
    }
    awaitingPong = true;
    current.writeTextMessage(new JsonObject().put("type", "ping").encode());
  }

  private void onMessage(WebSocket ws, Session target, String text) {
    if (ws != socket && ws != opening) {
      return;
    }
    JsonObject message;
    try {
      message = new JsonObject(text);
    } catch (RuntimeException notJson) {
      LOG.debug("ignoring a realtime message that is not a JSON object");
      return;
    }
    String type = String.valueOf(message.getValue("type"));
    switch (type) {
      case "pong" -> {
        awaitingPong = false;
        reconnects.recovered();
      }
      case "resync_ack" -> {
        if (message.getValue("events") instanceof JsonArray missed) {
          missed.stream().filter(JsonObject.class::isInstance).map(JsonObject.class::cast).forEach(event -> forward(target, event));
        }
      }
      default -> forward(target, message);
    }
  }

  /** Each event once and in order, per agent: the connection it came on says which agent it is for. */
  private void forward(Session target, JsonObject event) {
    if (event.getValue("agent_seq") instanceof Number seq) {
      if (seq.longValue() <= lastSeenSeq.getOrDefault(target.agentId(), 0L)) {
        return;
      }
      lastSeenSeq.put(target.agentId(), seq.longValue());
    }
    vertx.eventBus().publish(bus.events(), event, new DeliveryOptions().setLocalOnly(true));
  }

  private void enter(PresenceState next, String message, Integer attemptNumber, Long delayMs) {
    state = next;
    JsonObject body = new JsonObject().put("state", next.wireName()).put("message", message);
    if (session != null) {
      body.put("agentName", session.agentName());
    }
    if (attemptNumber != null) {
      body.put("attempt", attemptNumber).put("delayMs", delayMs);
    }
    vertx.eventBus().publish(bus.presenceState(), body);
  }

  /** {@code <base with ws/wss>/v1/ws?token=…}: the token travels in the URL, so the URL is never logged. */
  private static WebSocketConnectOptions connectOptions(Session target) {
    String base = target.baseUrl().replaceFirst("^http", "ws");
    base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    String uri = base + "/v1/ws?token=" + URLEncoder.encode(target.token(), StandardCharsets.UTF_8)
      + "&origin_client=" + BrokerVersion.NAME + "&origin_version=" + URLEncoder.encode(BrokerVersion.VERSION, StandardCharsets.UTF_8);
    return new WebSocketConnectOptions().setAbsoluteURI(uri);
  }
}
