package dev.relaybroker.identity;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.Secrets;
import dev.relaybroker.bus.Session;
import dev.relaybroker.bus.SessionState;
import dev.relaybroker.cloud.AgentRecord;
import dev.relaybroker.cloud.BrokerFailure;
import dev.relaybroker.cloud.RelaycastClient;
import dev.relaybroker.cloud.TakeoverRequest;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.files.AtomicFiles;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static dev.relaybroker.cloud.BrokerFailure.AGENT_LIVE_ELSEWHERE;
import static dev.relaybroker.cloud.BrokerFailure.AGENT_NAME_CONFLICT;
import static dev.relaybroker.cloud.BrokerFailure.CLOUD_PROTOCOL_ERROR;
import static dev.relaybroker.cloud.BrokerFailure.RECLAIM_UNSUPPORTED;
import static dev.relaybroker.cloud.BrokerFailure.WORKSPACE_KEY_REJECTED;

/**
 * The identity flow of SPEC §2 as one state machine: claim an agent identity in a Relaycast workspace, then hold
 * it. Every step is a method returning a {@link Future}; {@link #establishIdentity()} chains them in the order
 * of the SPEC, and failures are explained once, in {@link #explain}. Everything runs on this verticle's event
 * loop; file I/O goes through Vert.x's async file system.
 *
 * <p>The bug this class exists to fix: a broker whose name was already present got a 409 and exited, and the
 * SDK showed "Unable to connect". Here a conflict never ends the process; a refusal carries its real cause.
 */
public class IdentityVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(IdentityVerticle.class);

  private final BrokerOptions options;
  private final String baseUrl;
  private final String cacheScope;
  private final String requestedName;
  private final boolean strict;
  private final Path stateDir;
  private final String sessionRef = UUID.randomUUID().toString();

  private RelaycastClient cloud;
  private CredentialCache cache;
  private IdentitySecret identity;
  private Backoff backoff;

  private String workspaceKey;
  private String workspaceId;
  private String cachedAgentId;
  /** An agent id another installation took over from us; never "ours" again without an explicit --reclaim always. */
  private String supersededAgentId;
  private Session session;
  /** Null until the first transition, so "starting" is published like every other state. */
  private SessionState state;
  private String stateMessage = "starting";
  private BrokerFailure failure;
  private Future<Session> inFlight;
  private boolean stopping;

  /**
   * @param baseUrl    the cloud to talk to (the embedded emulator's address in the embedded default)
   * @param cacheScope what the credential cache must have been written for; the base URL, except for the
   *                   embedded emulator whose port changes between runs
   */
  public IdentityVerticle(BrokerOptions options, String baseUrl, String cacheScope) {
    this.options = options;
    this.baseUrl = baseUrl;
    this.cacheScope = cacheScope;
    this.requestedName = options.getName() != null ? options.getName() : AgentNames.fromDirectory(Path.of(System.getProperty("user.dir")));
    this.strict = options.getMode() == BrokerMode.PERSIST;
    this.stateDir = options.resolvedStateDir();
  }

  @Override
  public Future<?> start() {
    cloud = new RelaycastClient(vertx, baseUrl, options.getCloud());
    cache = new CredentialCache(vertx, stateDir);
    backoff = new Backoff(options.getCloud().getRetryInitialDelayMs(), options.getCloud().getRetryMaxDelayMs());
    // Local consumers only: their replies carry the agent token.
    vertx.eventBus().<JsonObject>localConsumer(Addresses.SESSION_GET, message -> {
      if (state == SessionState.READY && session != null) {
        message.reply(session.toJson());
      } else if (state == SessionState.FAILED && failure != null) {
        message.fail(502, failure.code() + ": " + failure.getMessage());
      } else {
        message.fail(503, "broker_starting: " + stateMessage);
      }
    });
    vertx.eventBus().<JsonObject>consumer(Addresses.PRESENCE_STATE, message -> {
      if ("superseded".equals(message.body().getString("state"))) {
        rememberSuperseded();
      }
    });
    vertx.eventBus().<JsonObject>localConsumer(Addresses.SESSION_REFRESH, message -> refresh()
      .onSuccess(refreshed -> message.reply(refreshed.toJson()))
      .onFailure(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        message.fail(502, f.code() + ": " + f.getMessage());
      }));

    return AtomicFiles.ensureOwnerOnlyDir(vertx, stateDir.toString())
      .compose(v -> AtomicFiles.deleteLeftoverTemps(vertx, stateDir.toString()))
      .compose(v -> IdentitySecret.loadOrCreate(vertx, stateDir))
      .onSuccess(secret -> {
        identity = secret;
        // Deployment completes now; the flow runs on and reports through relay.session.state.
        resolve();
      });
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    cloud.close();
    return Future.succeededFuture();
  }

  /** Runs the identity flow, or joins the one already running (single flight). */
  public Future<Session> resolve() {
    if (inFlight == null) {
      inFlight = establishIdentity().andThen(done -> inFlight = null);
    }
    return inFlight;
  }

  /** Step 7: roll the token over; joins a flow already running, and reruns the whole flow when not ready. */
  public Future<Session> refresh() {
    if (inFlight != null) {
      return inFlight;
    }
    if (session == null) {
      return resolve();
    }
    Session current = session;
    inFlight = rollOverToken(current).andThen(done -> inFlight = null);
    return inFlight;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The flow (SPEC §2), top to bottom
  // ---------------------------------------------------------------------------------------------------------

  private Future<Session> establishIdentity() {
    enter(SessionState.STARTING, "reading the credential cache");
    return cache.load()
      .compose(cached -> resolveWorkspaceKey(cached).map(cached))
      .compose(cached -> cached
        .filter(c -> c.isFor(cacheScope, workspaceKey, requestedName))
        .map(this::rollOverCachedToken)                       // 1. one round trip when the cache is good
        .orElseGet(() -> registerAgent(requestedName)))       // 2.–4. register, or resolve the conflict
      .compose(this::becomeReady)                             // 6. cache, publish, serve
      .recover(this::fail);                                   // 5. every failure explained once
  }

  /** The configured key; else the one this broker created on an earlier first run; else a new workspace. */
  private Future<Void> resolveWorkspaceKey(Optional<CachedCredentials> cached) {
    cached.filter(c -> cacheScope.equals(c.baseUrl())).ifPresent(c -> {
      if (c.superseded()) {
        supersededAgentId = c.agentId();
      } else {
        cachedAgentId = c.agentId();
      }
      workspaceId = c.workspaceId();
    });
    String configured = options.getCloud().getWorkspaceKey();
    if (configured != null) {
      workspaceKey = configured;
      if (cached.isPresent() && !configured.equals(cached.get().workspaceKey())) {
        // Another workspace's agent id proves nothing about ownership here.
        cachedAgentId = null;
        workspaceId = null;
      }
      return Future.succeededFuture();
    }
    Optional<CachedCredentials> ownWorkspace = cached.filter(c -> cacheScope.equals(c.baseUrl()) && c.workspaceKey() != null);
    if (ownWorkspace.isPresent()) {
      workspaceKey = ownWorkspace.get().workspaceKey();
      LOG.info("Using the workspace this broker created on its first run (key {})", Secrets.prefix(workspaceKey));
      return Future.succeededFuture();
    }
    return createWorkspace();
  }

  /** First run with a base URL but no key: make a workspace named after this user and directory. */
  private Future<Void> createWorkspace() {
    enter(SessionState.REGISTERING, "creating a workspace at " + baseUrl);
    String user = System.getProperty("user.name", "user");
    String cwd = System.getProperty("user.dir", "");
    String name = "relay-" + IdentitySecret.sha256Hex((user + ":" + cwd).getBytes(StandardCharsets.UTF_8)).substring(0, 8);
    return callCloud("create workspace", () -> cloud.createWorkspace(name))
      .recover(error -> isConflict(error)
        ? callCloud("create workspace", () -> cloud.createWorkspace(AgentNames.withSuffix(name)))
        : Future.failedFuture(error))
      .compose(created -> {
        workspaceKey = created.apiKey();
        workspaceId = created.workspaceId();
        LOG.info("Created workspace {} (key {})", workspaceId, Secrets.prefix(workspaceKey));
        // Keep the key at once: a flow that fails later must not create yet another workspace next time.
        return cache.save(new CachedCredentials(cacheScope, workspaceId, workspaceKey, null, null, requestedName, null, now()))
          .otherwise(e -> null);
      });
  }

  /** Step 1: the cached token rolls itself over. A dead token or a vanished agent sends us on to register. */
  private Future<Session> rollOverCachedToken(CachedCredentials cached) {
    enter(SessionState.REGISTERING, "rolling over the cached token of agent '" + cached.agentName() + "'");
    return callCloud("roll over cached token", () -> cloud.rotateToken(cached.agentToken(), cached.agentName()))
      .map(rotated -> newSession(cached.agentId(), cached.agentName(), rotated.token()))
      .recover(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        if (f.retryable()) {
          return Future.failedFuture(f);
        }
        // 401: the token was rotated elsewhere or revoked; 404 agent_not_found: the agent is gone.
        LOG.info("Cached token of agent '{}' is no longer usable ({}); registering", cached.agentName(), f.cloudCode());
        return registerAgent(requestedName);
      });
  }

  /** Step 2: register, proving which installation we are by the hash of our identity secret. */
  private Future<Session> registerAgent(String name) {
    enter(SessionState.REGISTERING, "registering agent '" + name + "' at " + baseUrl);
    return callCloud("register", () -> cloud.register(workspaceKey, name, registrationMetadata()))
      .map(registration -> {
        if (registration.workspaceId() != null) {
          workspaceId = registration.workspaceId();
        }
        return newSession(registration.id(), registration.name(), registration.token());
      })
      .recover(error -> {
        if (!isConflict(error)) {
          return Future.failedFuture(error);
        }
        return strict ? reclaimExisting(name) : registerWithSuffix(name);
      });
  }

  /** Step 3: a non-strict name gets exactly one suffixed retry. */
  private Future<Session> registerWithSuffix(String name) {
    String alternative = AgentNames.withSuffix(name);
    LOG.info("Agent name '{}' is taken in {}; registering as '{}'", name, workspaceLabel(), alternative);
    return callCloud("register with suffix", () -> cloud.register(workspaceKey, alternative, registrationMetadata()))
      .map(registration -> newSession(registration.id(), registration.name(), registration.token()))
      .recover(error -> Future.failedFuture(isConflict(error)
        ? new BrokerFailure(AGENT_NAME_CONFLICT, "agent names '" + name + "' and '" + alternative + "' are both taken in "
          + workspaceLabel() + "; start with another --name", false)
        : error));
  }

  /**
   * Step 4: a strict name is reclaimed. The record is read first, so a failed read never invalidates a token
   * that works somewhere; then the policy decides; then the audited takeover (or, on legacy engines, a
   * workspace-key rotate-token).
   */
  private Future<Session> reclaimExisting(String name) {
    enter(SessionState.RECLAIMING, "agent name '" + name + "' exists; reading its record");
    return callCloud("read existing agent", () -> cloud.getAgent(workspaceKey, name))
      .compose(existing -> checkReclaimPolicy(name, existing))
      .compose(existing -> takeOver(name, existing));
  }

  private Future<AgentRecord> checkReclaimPolicy(String name, AgentRecord existing) {
    boolean ours = !existing.id().equals(supersededAgentId)
      && (identity.hash().equals(existing.brokerIdentity()) || existing.id().equals(cachedAgentId));
    if (ours) {
      LOG.info("Agent '{}' ({}) was registered by this installation; taking it back", name, existing.id());
      return Future.succeededFuture(existing);
    }
    return switch (options.getReclaim()) {
      case OWN -> Future.failedFuture(new BrokerFailure(AGENT_NAME_CONFLICT, "agent name '" + name + "' in "
        + workspaceLabel() + " belongs to another installation and --reclaim own only takes back this one's agents; "
        + "start with another --name, or use --reclaim offline or always to take it over", false));
      case OFFLINE -> existing.isLive()
        ? Future.failedFuture(new BrokerFailure(AGENT_LIVE_ELSEWHERE, "agent name '" + name + "' is live on another machine ("
          + workspaceLabel() + ", status " + existing.status() + "); start with another --name, or pass --reclaim always "
          + "to take it over (the other machine loses its session)", false))
        : Future.succeededFuture(existing);
      case ALWAYS -> {
        if (existing.isLive()) {
          LOG.warn("Agent '{}' is live on another machine; seizing it because --reclaim always", name);
        }
        yield Future.succeededFuture(existing);
      }
    };
  }

  /** The audited takeover; a 404 that is not {@code agent_not_found} means a legacy engine without the route. */
  private Future<Session> takeOver(String name, AgentRecord existing) {
    enter(SessionState.RECLAIMING, "taking over agent '" + name + "'");
    TakeoverRequest request = new TakeoverRequest(existing.id(), BrokerVersion.NAME + "/" + BrokerVersion.VERSION,
      "relay-broker reclaiming its agent name (policy " + options.getReclaim().wireName() + ")",
      sessionRef, identity.hash().substring(0, 16));
    return callCloud("takeover", () -> cloud.takeover(workspaceKey, name, request))
      .map(taken -> newSession(taken.agentId(), name, taken.token()))
      .recover(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        boolean legacyEngine = f.isStatus(404) && !f.hasCloudCode("agent_not_found");
        return legacyEngine ? rotateWithWorkspaceKey(name, existing) : Future.failedFuture(f);
      });
  }

  /** Legacy reclaim. A 401 here is a current engine that wants the agent's own token, which we do not hold. */
  private Future<Session> rotateWithWorkspaceKey(String name, AgentRecord existing) {
    return callCloud("rotate-token with workspace key", () -> cloud.rotateToken(workspaceKey, name))
      .map(rotated -> newSession(existing.id(), name, rotated.token()))
      .recover(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        return Future.failedFuture(f.isStatus(401)
          ? f.explainedAs(RECLAIM_UNSUPPORTED, "agent name '" + name + "' exists in " + workspaceLabel()
            + " (step rotate-token with workspace key), but this engine has no takeover route and its rotate-token needs the agent's own token, which this "
            + "installation does not hold; start with another --name")
          : f);
      });
  }

  /** Step 7 proper: the token rolls itself over; on 401 the name is reclaimed as in step 4. */
  private Future<Session> rollOverToken(Session current) {
    enter(SessionState.REGISTERING, "rolling over the token of agent '" + current.agentName() + "'");
    return callCloud("roll over token", () -> cloud.rotateToken(current.token(), current.agentName()))
      .map(rotated -> newSession(current.agentId(), current.agentName(), rotated.token()))
      .recover(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        if (f.isStatus(401)) {
          return reclaimExisting(current.agentName());
        }
        return f.hasCloudCode("agent_not_found") ? registerAgent(requestedName) : Future.failedFuture(f);
      })
      .compose(this::becomeReady)
      .recover(this::fail);
  }

  /** Step 6: cache first (so a crash right after still finds the new token), then publish. */
  /** Presence saw another installation take the agent over: remember it, so no restart takes it back by itself. */
  private void rememberSuperseded() {
    if (session == null) {
      return;
    }
    supersededAgentId = session.agentId();
    cachedAgentId = null;
    CachedCredentials superseded = new CachedCredentials(cacheScope, workspaceId, workspaceKey, session.agentId(),
      session.agentName(), requestedName, session.token(), now()).asSuperseded();
    cache.save(superseded).onFailure(e -> LOG.warn("Could not mark the credential cache as superseded: {}", e.getMessage()));
  }

  private Future<Session> becomeReady(Session resolved) {
    CachedCredentials credentials = new CachedCredentials(cacheScope, workspaceId, workspaceKey, resolved.agentId(),
      resolved.agentName(), requestedName, resolved.token(), now());
    return cache.save(credentials)
      .recover(e -> {
        LOG.warn("Could not write the credential cache {} ({}); the session works, the next start costs more round trips",
          cache.path(), e.getMessage());
        return Future.succeededFuture();
      })
      .map(v -> {
        cachedAgentId = resolved.agentId();
        if (resolved.agentId().equals(supersededAgentId)) {
          // Taken back on explicit request (--reclaim always or a refresh): ours again.
          supersededAgentId = null;
        }
        session = resolved;
        failure = null;
        enter(SessionState.READY, "agent '" + resolved.agentName() + "' is ready");
        vertx.eventBus().publish(Addresses.SESSION_RESOLVED, resolved.toJson(), new DeliveryOptions().setLocalOnly(true));
        LOG.info("Session ready: agent '{}' ({}), token {}", resolved.agentName(), resolved.agentId(), Secrets.prefix(resolved.token()));
        return resolved;
      });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Errors and retries (SPEC §2 step 5)
  // ---------------------------------------------------------------------------------------------------------

  private Future<Session> fail(Throwable error) {
    if (stopping) {
      // A flow cut short by a stop did not fail; there is nobody left to tell.
      return Future.failedFuture(error);
    }
    BrokerFailure explained = explain(BrokerFailure.of(error));
    failure = explained;
    session = null;
    LOG.error("Identity flow failed [{}]: {}", explained.code(), explained.getMessage());
    publishState(SessionState.FAILED, new JsonObject()
      .put("cause", explained.code())
      .put("message", explained.getMessage())
      .put("retryable", explained.retryable()));
    return Future.failedFuture(explained);
  }

  /** The one place where a failure gets its stable code and a message naming agent, workspace and step. */
  private BrokerFailure explain(BrokerFailure f) {
    if (f.explained()) {
      return f;
    }
    String where = "agent '" + requestedName + "' in " + workspaceLabel() + (f.step() != null ? ", step " + f.step() : "");
    if (f.isStatus(401) || f.isStatus(403)) {
      return f.explainedAs(WORKSPACE_KEY_REJECTED, "workspace key rejected (" + f.httpStatus() + " " + f.cloudCode()
        + ") for " + where + "; check the key (--workspace-key, RELAY_API_KEY); the broker never switches workspaces on its own");
    }
    if (f.isStatus(404) && !f.hasCloudCode("agent_not_found")) {
      // A missing route (outside takeover, where it means a legacy engine) means this is not the API we expect.
      return f.explainedAs(CLOUD_PROTOCOL_ERROR, where + ": " + f.getMessage() + "; is " + baseUrl + " a Relaycast API?");
    }
    if (CLOUD_PROTOCOL_ERROR.equals(f.code())) {
      return f.explainedAs(CLOUD_PROTOCOL_ERROR, where + ": " + f.getMessage() + "; is " + baseUrl + " a Relaycast API?");
    }
    if (f.retryable()) {
      return f.explainedAs(f.code(), where + ": gave up after " + options.getCloud().getRetryMaxAttempts()
        + " attempts: " + f.getMessage());
    }
    return f.explainedAs(f.code(), where + ": " + f.getMessage());
  }

  /** One cloud call, retried on transient failures with backoff: forever in persist mode, each wait announced. */
  private <T> Future<T> callCloud(String step, Supplier<Future<T>> call) {
    // The state the step runs in, taken once: every retry of it resumes there.
    return attempt(step, call, 1, state, stateMessage);
  }

  private <T> Future<T> attempt(String step, Supplier<Future<T>> call, int attempt, SessionState resumeIn, String resumeMessage) {
    return call.get().recover(error -> {
      BrokerFailure f = BrokerFailure.of(error).atStep(step);
      boolean exhausted = !strict && attempt >= options.getCloud().getRetryMaxAttempts();
      if (!f.retryable() || stopping || exhausted) {
        return Future.failedFuture(f);
      }
      long delayMs = backoff.delayMs(attempt, f.retryAfterMs());
      String waiting = step + " failed (" + f.getMessage() + "); retrying in " + humanDuration(delayMs) + " (attempt " + attempt + ")";
      LOG.warn("Agent '{}': {}", requestedName, waiting);
      publishState(SessionState.RETRYING, new JsonObject()
        .put("cause", f.code()).put("message", waiting).put("attempt", attempt).put("delayMs", delayMs).put("step", step));
      stateMessage = waiting;
      return vertx.timer(delayMs, TimeUnit.MILLISECONDS).compose(v -> {
        if (stopping) {
          return Future.failedFuture(f);
        }
        // Between waits, say which attempt this is and what failed last: a person polling sees progress.
        enter(resumeIn, resumeMessage + " (attempt " + (attempt + 1) + "; last: " + f.getMessage() + ")");
        return attempt(step, call, attempt + 1, resumeIn, resumeMessage);
      });
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Small pieces
  // ---------------------------------------------------------------------------------------------------------

  private void enter(SessionState next, String message) {
    stateMessage = message;
    if (next != state || next == SessionState.RETRYING) {
      publishState(next, new JsonObject().put("message", message));
    }
  }

  private void publishState(SessionState next, JsonObject details) {
    state = next;
    JsonObject body = new JsonObject().put("state", next.wireName()).put("agentName", requestedName).mergeIn(details);
    vertx.eventBus().publish(Addresses.SESSION_STATE, body);
  }

  private JsonObject registrationMetadata() {
    // Only the hash leaves the machine; the secret itself stays in identity.key.
    return new JsonObject().put("relay_broker_identity", identity.hash()).put("relay_broker_version", BrokerVersion.VERSION);
  }

  private Session newSession(String agentId, String agentName, String token) {
    return new Session(workspaceId, agentId, agentName, token, options.getMode().wireName(), now(), workspaceKey, baseUrl);
  }

  private static boolean isConflict(Throwable error) {
    return BrokerFailure.of(error).isStatus(409);
  }

  private String workspaceLabel() {
    return workspaceId != null ? "workspace " + workspaceId : "the workspace of key " + Secrets.prefix(workspaceKey);
  }

  private static String humanDuration(long ms) {
    return ms < 1000 ? ms + " ms" : String.format("%.1f s", ms / 1000.0);
  }

  private static String now() {
    return Instant.now().toString();
  }
}
