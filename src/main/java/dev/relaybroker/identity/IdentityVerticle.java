package dev.relaybroker.identity;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.bus.LocalCodec;
import dev.relaybroker.session.PresenceState;
import dev.relaybroker.bus.Secrets;
import dev.relaybroker.session.Session;
import dev.relaybroker.bus.SessionHold;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import dev.relaybroker.session.SessionUnavailable;
import dev.relaybroker.bus.TakeoverFact;
import dev.relaybroker.cloud.AgentRecord;
import dev.relaybroker.cloud.RetryPolicy;
import dev.relaybroker.cloud.CloudCallObserver;
import dev.relaybroker.cloud.RelaycastClient;
import dev.relaybroker.cloud.TakeoverRequest;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.ReclaimPolicy;
import dev.relaybroker.files.AtomicFiles;
import dev.relaybroker.metrics.StartupTrace;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static dev.relaybroker.session.FailureCause.AGENT_LIVE_ELSEWHERE;
import static dev.relaybroker.session.FailureCause.AGENT_NAME_CONFLICT;
import static dev.relaybroker.session.FailureCause.AGENT_NOT_FOUND;
import static dev.relaybroker.session.FailureCause.AGENT_SUPERSEDED;
import static dev.relaybroker.session.FailureCause.AGENT_TOKEN_REJECTED;
import static dev.relaybroker.session.FailureCause.CLOUD_PROTOCOL_ERROR;
import static dev.relaybroker.session.FailureCause.RECLAIM_UNSUPPORTED;

/**
 * The identity flow of SPEC §2: claim an agent identity in a Relaycast workspace, then hold it. Every step is a
 * method returning a {@link Future}; {@link #establishIdentity()} chains them in the order of the SPEC, and
 * failures are explained once, in {@link #explain}. Everything runs on this verticle's event loop; file I/O goes
 * through Vert.x's async file system.
 *
 * <p>Which flow runs, and whether a step may begin or a token be served, is not decided here: every event (a
 * refresh, a step, a wait, a resolved token, a failure, presence's takeover fact, the stop) goes to the
 * transition table of {@link BrokerLife} through {@link #on}, and this class runs the effects it returns. A flow
 * starts only through {@link #runFlow} (single flight).
 *
 * <p>This verticle is the only writer of the {@link SessionSnapshot}: every change of state, session, presence
 * or channels goes through {@link #publish}, and every surface of the broker answers from the latest snapshot.
 *
 * <p>The bug this class exists to fix: a broker whose name was already present got a 409 and exited, and the
 * SDK showed "Unable to connect". Here a conflict never ends the process; a refusal carries its real cause.
 */
public class IdentityVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(IdentityVerticle.class);
  /** A held {@code relay.session.get} is answered by then at the latest (the event bus's default send timeout). */
  private static final long MAX_BUS_HOLD_MS = DeliveryOptions.DEFAULT_TIMEOUT;
  /** Part of the stop's 2.5 s budget (SPEC §2 step 8); presence closes its connection after this. */
  private static final long MARK_OFFLINE_BUDGET_MS = 1200;
  /** How long after a reclaim call of ours went unanswered a takeover notice may be that call landing late. */
  private static final long LATE_RECLAIM_WINDOW_MS = 30_000;

  private final BrokerOptions options;
  private final String baseUrl;
  private final String cacheScope;
  private final String requestedName;
  private final boolean strict;
  private final Path stateDir;
  private final BrokerBus bus;
  private final String sessionRef = UUID.randomUUID().toString();
  private final CloudCallObserver observer;
  /** The broker's health procedures; identity owns {@code cloud}. */
  private final HealthChecks health;
  private final CloudHealth cloudHealth = new CloudHealth();
  /** {@code relay.session.get} requests held until the first settled snapshot. */
  private SessionHold<Message<Object>> heldRequests;

  private RelaycastClient cloud;
  private CredentialCache cache;
  private IdentitySecret identity;
  /** How each cloud call of the flow waits and when it gives up: forever in persist mode, else a few attempts. */
  private RetryPolicy retries;
  private ChannelMembership channels;

  private String workspaceKey;
  private String workspaceId;
  private String cachedAgentId;
  /** An agent id another installation took over from us; never "ours" again without an explicit --reclaim always. */
  private String supersededAgentId;
  /**
   * When a takeover (or workspace-key rotate-token) of ours last went unanswered, in {@link System#nanoTime()};
   * 0 when none may still land. The cloud may carry such a call out after our retry succeeded.
   */
  private long unansweredReclaimAtNanos;
  /** Written on this verticle's event loop only; volatile so {@link #snapshot()} may be read from any thread. */
  private volatile SessionSnapshot snapshot;
  /** The flow under way (single flight: {@link #runFlow} is the only way one starts); null when none. */
  private Future<Session> inFlight;
  /** Where the broker is in its life; changed only by {@link #on}, through the table of {@link BrokerLife}. */
  private BrokerLife.Life life = BrokerLife.Life.initial();
  /** Presence's refusal of our token held while a flow runs ({@link BrokerLife.HoldRefusal}); null when none. */
  private JsonObject heldRefusal;
  /** The step the flow runs now: a retry of its cloud call resumes there. */
  private BrokerLife.State currentStep = BrokerLife.State.STARTING;

  /**
   * @param baseUrl    the cloud to talk to (the embedded emulator's address in the embedded default)
   * @param cacheScope what the credential cache must have been written for; the base URL, except for the
   *                   embedded emulator whose port changes between runs
   * @param observer   told of each cloud call (the broker's metrics, or {@link CloudCallObserver#NONE})
   * @param health     the broker's health procedures: identity registers {@code cloud} there for as long as it runs
   */
  public IdentityVerticle(BrokerOptions options, String baseUrl, String cacheScope, CloudCallObserver observer, HealthChecks health) {
    this.options = options;
    this.observer = observer;
    this.health = health;
    this.baseUrl = baseUrl;
    this.cacheScope = cacheScope;
    this.requestedName = options.getName() != null ? options.getName() : AgentNames.fromDirectory(Path.of(System.getProperty("user.dir")));
    this.strict = options.getMode() == BrokerMode.PERSIST;
    this.stateDir = options.resolvedStateDir();
    this.bus = options.bus();
    this.snapshot = SessionSnapshot.initial(options.getPresence().isEnabled());
  }

  /** The latest snapshot; safe to read from any thread (it is immutable and replaced whole). */
  public SessionSnapshot snapshot() {
    return snapshot;
  }

  @Override
  public Future<?> start() {
    LocalCodec.registerAll(vertx);
    heldRequests = new SessionHold<>(vertx);
    cloud = new RelaycastClient(vertx, baseUrl, options.getCloud(), observer);
    health.register("cloud", promise -> promise.complete(cloudHealth.status(snapshot)));
    cache = new CredentialCache(vertx, stateDir);
    RetryPolicy backoff = RetryPolicy.backoff(options.getCloud().getRetryInitialDelayMs(), options.getCloud().getRetryMaxDelayMs());
    retries = strict ? backoff : backoff.upTo(options.getCloud().getRetryMaxAttempts());
    channels = new ChannelMembership(vertx, cloud, options.getChannels(), backoff,
      (joined, errors) -> publish(snapshot.withChannels(joined, errors)));
    // Local consumers only: their replies carry the agent token.
    vertx.eventBus().localConsumer(bus.sessionGet(), this::answerOrHold);
    vertx.eventBus().localConsumer(bus.sessionRefresh(), message -> refresh()
      .onSuccess(refreshed -> message.reply(refreshed.toJson()))
      .onFailure(error -> message.reply(snapshot.status() == 200
        ? SessionUnavailable.refreshFailed(snapshot.state(), BrokerFailure.of(error))
        : SessionUnavailable.from(snapshot))));
    vertx.eventBus().<JsonObject>localConsumer(bus.identitySuperseded(), message ->
      message.reply(recordTakeover(TakeoverFact.fromJson(message.body()))));
    vertx.eventBus().<JsonObject>localConsumer(bus.identityTokenRefused(), message -> message.reply(onTokenRefused(message.body())));
    vertx.eventBus().<JsonObject>consumer(bus.presenceState(), message -> onPresence(message.body()));
    publish(snapshot.entering(SessionState.STARTING, "reading the credential cache", null));
    StartupTrace.mark("identity flow starts");

    // The state dir exists, 0700: the application made it when it took the state-dir lock.
    return AtomicFiles.deleteLeftoverTemps(vertx, stateDir.toString())
      .compose(v -> IdentitySecret.loadOrCreate(vertx, stateDir))
      .onSuccess(secret -> {
        identity = secret;
        // Deployment completes now; the flow runs on and reports through the snapshot.
        if (on(new BrokerLife.Started()).has(BrokerLife.RunFlow.class)) {
          runFlow(this::establishIdentity);
        }
      });
  }

  /**
   * Step 8: stop answering, and tell the cloud the agent is offline, so the dashboard and other machines see it
   * at once rather than after a presence timeout. Bounded: a cloud that does not answer never holds the stop up.
   */
  @Override
  public Future<?> stop() {
    Session last = snapshot.session();
    if (!on(new BrokerLife.StopAsked()).has(BrokerLife.MarkOffline.class)) {
      health.unregister("cloud");
      return Future.succeededFuture();
    }
    channels.cancel();
    publish(snapshot.withdrawn(SessionState.STOPPING, "the broker is stopping"));
    Future<Void> offline = last == null || workspaceKey == null ? Future.succeededFuture()
      : cloud.markOffline(workspaceKey, last.agentName())
        .timeout(MARK_OFFLINE_BUDGET_MS, TimeUnit.MILLISECONDS)
        .onSuccess(v -> LOG.info("Agent '{}' marked offline", last.agentName()))
        .onFailure(e -> LOG.info("Could not mark agent '{}' offline before stopping ({})", last.agentName(), e.getMessage()))
        .otherwiseEmpty();
    return offline.eventually(() -> {
      on(new BrokerLife.StopFinished());
      health.unregister("cloud");
      cloud.close();
      return Future.succeededFuture();
    });
  }

  /**
   * Step 7: roll the token over; joins a flow already running, and reruns the whole flow when there is no session
   * (failed, superseded). What happens is the table's {@link BrokerLife.RefreshAsked} row.
   */
  public Future<Session> refresh() {
    BrokerLife.Transition asked = on(new BrokerLife.RefreshAsked());
    for (BrokerLife.Effect effect : asked.effects()) {
      if (effect instanceof BrokerLife.RunFlow run) {
        Session current = snapshot.session();
        return run.flow() == BrokerLife.Flow.ROLL_OVER && current != null
          ? runFlow(() -> rollOver(current, "roll over token"))
          : runFlow(this::establishIdentity);
      }
      if (effect instanceof BrokerLife.JoinFlow) {
        return inFlight != null ? inFlight : Future.succeededFuture(snapshot.session());
      }
    }
    return Future.failedFuture(stoppingFailure()); // AnswerStopping
  }

  /**
   * The one way a flow runs (single flight; the table never asks for a second while one runs): its steps, then
   * step 6 on success or the one explanation of its failure (step 5).
   */
  private Future<Session> runFlow(Supplier<Future<Session>> steps) {
    inFlight = steps.get()
      .compose(this::becomeReady)
      .recover(this::fail)
      .andThen(done -> {
        inFlight = null;
        releaseHeldRefusal();
      });
    return inFlight;
  }

  /** Feeds one event to the table and keeps its next life; the caller runs the effects it returns. */
  private BrokerLife.Transition on(BrokerLife.Event event) {
    BrokerLife.Transition transition = BrokerLife.next(life, event);
    life = transition.life();
    return transition;
  }

  private boolean stopping() {
    return life.state().stopping();
  }

  // ---------------------------------------------------------------------------------------------------------
  // The flow (SPEC §2), top to bottom
  // ---------------------------------------------------------------------------------------------------------

  private Future<Session> establishIdentity() {
    enter(BrokerLife.State.STARTING, "reading the credential cache");
    return cache.load()
      .compose(cached -> resolveWorkspaceKey(cached).map(cached))
      .compose(cached -> cached
        .filter(c -> c.isFor(cacheScope, workspaceKey, requestedName))
        .map(this::rollOverCachedToken)                       // 1. one round trip when the cache is good
        .orElseGet(() -> registerAgent(requestedName)));      // 2.–4. register, or resolve the conflict
    // 6. (cache, publish, serve) and 5. (every failure explained once) follow in runFlow.
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
    enter(BrokerLife.State.REGISTERING, "creating a workspace at " + baseUrl);
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

  /**
   * Step 1. The cached token is not served until it has rolled over: it may have died while the broker was down.
   * Besides a dead token, any other refusal of the rollover (a 404 route, a 400) also makes the cache useless,
   * and, since nothing is served yet, the broker simply registers instead.
   */
  private Future<Session> rollOverCachedToken(CachedCredentials cached) {
    String step = "roll over cached token";
    return rollOver(newSession(cached.agentId(), cached.agentName(), cached.agentToken()), step)
      .recover(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        if (f.retryable() || !step.equals(f.step())) {
          return Future.failedFuture(f);
        }
        LOG.info("Cached token of agent '{}' is not usable ({}); registering", cached.agentName(), f.getMessage());
        return registerAgent(requestedName);
      });
  }

  /**
   * Steps 1 and 7: the token rolls itself over, with the one dead-token rule. A 401/403 to the token proves it
   * dead, and a 404 {@code agent_not_found} proves its agent gone: either way the token is withdrawn at once (no
   * surface serves it again), and the name is claimed again: a strict name is reclaimed as in step 4 (registered
   * afresh when its record is gone), a non-strict one registered as in steps 2–3. Anything else (an outage, a
   * timeout) proves nothing, so whatever session is being served stays served while the call retries: make
   * before break.
   */
  private Future<Session> rollOver(Session current, String step) {
    enter(BrokerLife.State.ROLLING_OVER, "rolling over the token of agent '" + current.agentName() + "'");
    return callCloud(step, () -> cloud.rotateToken(current.token(), current.agentName()))
      .map(rotated -> newSession(current.agentId(), current.agentName(), rotated.token()))
      .recover(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        if (!f.is(AGENT_TOKEN_REJECTED) && !f.is(AGENT_NOT_FOUND)) {
          return Future.failedFuture(f);
        }
        // Rotated elsewhere (a takeover), revoked, our own rollover whose answer was lost, or the agent removed.
        String why = f.is(AGENT_NOT_FOUND) ? "agent '" + current.agentName() + "' no longer exists"
          : "the token of agent '" + current.agentName() + "' is no longer valid (" + f.httpStatus() + " " + f.cloudCode() + ")";
        return claimNameAgain(current, why, f.is(AGENT_NOT_FOUND));
      });
  }

  /**
   * The token is dead: withdraw it from every surface at once, then claim the name again: reclaim a strict name
   * (register it afresh when its record is gone), register a non-strict one as in steps 2–3.
   */
  private Future<Session> claimNameAgain(Session dead, String why, boolean agentGone) {
    LOG.info("{}; claiming the name again", why);
    boolean served = on(new BrokerLife.TokenProvenDead(Secrets.fingerprint(dead.token()))).has(BrokerLife.Withdraw.class);
    if (served) {
      publish(snapshot.withdrawn(life.state().wire(), why + "; claiming the name again"));
    } else {
      enter(BrokerLife.State.READING_RECORD, why + "; claiming the name again"); // a cached token, never served
    }
    if (!strict || agentGone) {
      return registerAgent(requestedName);
    }
    return reclaimExisting(dead.agentName(), served)
      .recover(e -> BrokerFailure.of(e).is(AGENT_NOT_FOUND) && "read existing agent".equals(BrokerFailure.of(e).step())
        ? registerAgent(requestedName)
        : Future.failedFuture(e));
  }

  /** Step 2: register, proving which installation we are by the hash of our identity secret. */
  private Future<Session> registerAgent(String name) {
    enter(BrokerLife.State.REGISTERING, "registering agent '" + name + "' at " + baseUrl);
    StartupTrace.mark("register sent");
    return callCloud("register", () -> cloud.register(workspaceKey, name, registrationMetadata()))
      .map(registration -> {
        StartupTrace.mark("register answered");
        if (registration.workspaceId() != null) {
          workspaceId = registration.workspaceId();
        }
        return newSession(registration.id(), registration.name(), registration.token());
      })
      .recover(error -> {
        if (!isConflict(error)) {
          return Future.failedFuture(error);
        }
        return strict ? reclaimExisting(name, false) : registerWithSuffix(name);
      });
  }

  /** Step 3: a non-strict name gets exactly one suffixed retry. */
  private Future<Session> registerWithSuffix(String name) {
    String alternative = AgentNames.withSuffix(name);
    LOG.info("Agent name '{}' is taken in {}; registering as '{}'", name, workspaceLabel(), alternative);
    return callCloud("register with suffix", () -> cloud.register(workspaceKey, alternative, registrationMetadata()))
      .map(registration -> newSession(registration.id(), registration.name(), registration.token()))
      .recover(error -> Future.failedFuture(isConflict(error)
        ? BrokerFailure.refusal(AGENT_NAME_CONFLICT, "agent names '" + name + "' and '" + alternative + "' are both taken in "
          + workspaceLabel() + "; start with another --name")
        : error));
  }

  /**
   * Step 4: a strict name is reclaimed. The record is read first, so a failed read never invalidates a token
   * that works somewhere; then the policy decides; then the audited takeover (or, on legacy engines, a
   * workspace-key rotate-token).
   */
  private Future<Session> reclaimExisting(String name, boolean heldUntilNow) {
    enter(BrokerLife.State.READING_RECORD, "agent name '" + name + "' exists; reading its record");
    return callCloud("read existing agent", () -> cloud.getAgent(workspaceKey, name))
      .compose(existing -> checkReclaimPolicy(name, existing, heldUntilNow)
        .recover(refused -> new IdentityProof(identity).refusalOf(refused, existing)))
      .compose(existing -> takeOver(name, existing));
  }

  /**
   * Only {@code --reclaim always} seizes a live agent, whoever registered it: an agent this installation
   * registered may have been reclaimed since by another one that now holds it (issue 25), and both sides must
   * read the same rule and the same advice.
   *
   * @param heldUntilNow this broker served the agent's token until the cloud refused it just now: its own
   *                     realtime connection may still be what makes the record live, so for its own agent a live
   *                     status proves no other holder (another installation's takeover comes as a 4001 instead)
   */
  private Future<AgentRecord> checkReclaimPolicy(String name, AgentRecord existing, boolean heldUntilNow) {
    boolean ours = !existing.id().equals(supersededAgentId)
      && (new IdentityProof(identity).proves(existing) || existing.id().equals(cachedAgentId));
    ReclaimPolicy policy = options.getReclaim();
    if (!ours && policy == ReclaimPolicy.OWN) {
      return Future.failedFuture(BrokerFailure.refusal(AGENT_NAME_CONFLICT, "agent name '" + name + "' in "
        + workspaceLabel() + " belongs to another installation and --reclaim own only takes back this one's agents; "
        + "start with another --name, or use --reclaim offline or always to take it over"));
    }
    // offline (the default) never seizes a live agent, whoever registered it: two installations told the same thing
    // would otherwise take it from each other. own takes back this installation's own agents whatever their status,
    // as 12.4.1 does for a record stamped with its identity key; always takes any.
    boolean takesLive = policy == ReclaimPolicy.ALWAYS || (policy == ReclaimPolicy.OWN && ours) || (ours && heldUntilNow);
    if (existing.isLive() && !takesLive) {
      return Future.failedFuture(BrokerFailure.refusal(AGENT_LIVE_ELSEWHERE, "agent name '" + name + "' is live on another machine ("
        + workspaceLabel() + ", status " + existing.status() + (ours ? "; this installation registered it, another holds it now" : "")
        + "); start with another --name, or pass --reclaim always to take it over (the other machine loses its session)"));
    }
    if (existing.isLive() && !ours) {
      LOG.warn("Agent '{}' is live on another machine ({}); seizing it because --reclaim always", name, holder(existing));
    } else if (ours) {
      LOG.info("Agent '{}' ({}) was registered by this installation and is {}; taking it back", name, existing.id(), existing.status());
    } else {
      LOG.info("Taking over agent '{}' from another installation ({}): it is {} and the policy is --reclaim {}",
        name, holder(existing), existing.status(), policy.wireName());
    }
    return Future.succeededFuture(existing);
  }

  /** Who held an agent, as far as its record says: its id and the broker installation that registered it. */
  private static String holder(AgentRecord existing) {
    String installation = existing.brokerIdentity();
    return "agent id " + existing.id() + (installation == null ? ", not registered by a relay-broker"
      : ", relay-broker installation " + installation.substring(0, Math.min(12, installation.length())));
  }

  /** The audited takeover; a 404 that is not {@code agent_not_found} means a legacy engine without the route. */
  private Future<Session> takeOver(String name, AgentRecord existing) {
    enter(BrokerLife.State.TAKING_OVER, "taking over agent '" + name + "'");
    TakeoverRequest request = new TakeoverRequest(existing.id(), BrokerVersion.NAME + "/" + BrokerVersion.VERSION,
      "relay-broker reclaiming its agent name (policy " + options.getReclaim().wireName() + ")",
      sessionRef, identity.hash().substring(0, 16));
    return callCloud("takeover", () -> mayLandLate(cloud.takeover(workspaceKey, name, request)))
      .map(taken -> newSession(taken.agentId(), name, taken.token()))
      .recover(error -> {
        BrokerFailure f = BrokerFailure.of(error);
        boolean legacyEngine = f.isStatus(404) && !f.is(AGENT_NOT_FOUND);
        return legacyEngine ? rotateWithWorkspaceKey(name, existing) : Future.failedFuture(f);
      });
  }

  /** Legacy reclaim. A 401 here is a current engine that wants the agent's own token, which we do not hold. */
  private Future<Session> rotateWithWorkspaceKey(String name, AgentRecord existing) {
    return callCloud("rotate-token with workspace key", () -> mayLandLate(cloud.rotateToken(workspaceKey, name)))
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

  /** A reclaim call that got no answer may still be carried out by the cloud; remember when, for {@link #recordTakeover}. */
  private <T> Future<T> mayLandLate(Future<T> reclaimCall) {
    return reclaimCall.onFailure(error -> {
      BrokerFailure f = BrokerFailure.of(error);
      if (f.is(FailureCause.CLOUD_TIMEOUT) || f.is(FailureCause.CLOUD_UNREACHABLE)) {
        unansweredReclaimAtNanos = System.nanoTime();
      }
    });
  }

  /** Step 6: cache first (so a crash right after still finds the new token), then publish and serve. */
  private Future<Session> becomeReady(Session resolved) {
    CachedCredentials credentials = new CachedCredentials(cacheScope, workspaceId, workspaceKey, resolved.agentId(),
      resolved.agentName(), requestedName, resolved.token(), now());
    return cache.save(credentials)
      .recover(e -> {
        LOG.warn("Could not write the credential cache {} ({}); the session works, the next start costs more round trips",
          cache.path(), e.getMessage());
        return Future.succeededFuture();
      })
      .compose(v -> {
        if (!on(new BrokerLife.SessionResolved(Secrets.fingerprint(resolved.token()))).has(BrokerLife.Serve.class)) {
          // A rollover answered after the stop began: its token is cached for the next start, never served.
          return Future.failedFuture(stoppingFailure());
        }
        cachedAgentId = resolved.agentId();
        if (resolved.agentId().equals(supersededAgentId)) {
          // Taken back on explicit request (--reclaim always or a refresh): ours again.
          supersededAgentId = null;
        }
        publish(snapshot.ready(resolved, "agent '" + resolved.agentName() + "' is ready"));
        StartupTrace.mark("session ready");
        if (!snapshot.channels().containsAll(options.getChannels())) {
          // A first session, a re-register or a takeover back: membership is the agent's, a rollover keeps it.
          // A lambda, not snapshot::session: that would bind today's snapshot, and a retry would reuse its token.
          channels.joinAll(resolved, () -> snapshot.session());
        }
        vertx.eventBus().publish(bus.sessionResolved(), resolved.toJson(), new DeliveryOptions().setLocalOnly(true));
        LOG.info("Session ready: agent '{}' ({}), token {}", resolved.agentName(), resolved.agentId(), Secrets.prefix(resolved.token()));
        return Future.succeededFuture(resolved);
      });
  }

  /**
   * Presence proved that another installation holds the agent now. Remember it, so no restart takes it back by
   * itself, and stop serving the token. A notice about a token we no longer serve is stale and changes nothing.
   *
   * <p>One exception: a takeover of ours that went unanswered may have been carried out by the cloud after our
   * retry already got this token, and then its 4001 looks just like another installation's (the cloud names no
   * taker). Within {@link #LATE_RECLAIM_WINDOW_MS} of such a call, and once per call, the dead token is withdrawn
   * and the name claimed again under the reclaim policy. Stepping back instead would leave the agent to nobody.
   * Should it really have been another installation, that one steps back in turn: it has no late call of its own.
   *
   * <p>The words a person reads are written here, from presence's fact, and logged once: with the record's
   * account when presence reads it after a provisional fact.
   *
   * @return {@code recorded}: true when the takeover was recorded (presence steps back), false when the fact
   *         changed nothing or the name is being claimed again; {@code message}: what to say
   */
  private JsonObject recordTakeover(TakeoverFact fact) {
    Session current = snapshot.session();
    String token = fact.token();
    String message = fact.account();
    boolean mayBeOurs = unansweredReclaimAtNanos != 0
      && System.nanoTime() - unansweredReclaimAtNanos <= TimeUnit.MILLISECONDS.toNanos(LATE_RECLAIM_WINDOW_MS);
    BrokerLife.Transition seen = on(new BrokerLife.TakeoverSeen(token == null ? null : Secrets.fingerprint(token), mayBeOurs));
    if (seen.has(BrokerLife.RestateSuperseded.class)) {
      if (!fact.provisional()) {
        LOG.warn("{}", message);
      }
      publish(snapshot.refused(SessionState.SUPERSEDED, BrokerFailure.refusal(AGENT_SUPERSEDED, message)));
      return recorded(true, message);
    }
    if (seen.has(BrokerLife.RunFlow.class)) {
      unansweredReclaimAtNanos = 0; // once per call
      runFlow(() -> claimNameAgain(current, "the token of agent '" + current.agentName() + "' was invalidated soon after a takeover of "
        + "ours went unanswered: most likely that takeover reaching the cloud late, not another installation", false));
      return recorded(false, message);
    }
    if (!seen.has(BrokerLife.RecordSuperseded.class)) {
      if (mayBeOurs && current != null && token != null && token.equals(current.token())) {
        unansweredReclaimAtNanos = 0; // a flow under way claims the name; this call was accounted for
      }
      return recorded(false, message);
    }
    supersededAgentId = current.agentId();
    cachedAgentId = null;
    CachedCredentials superseded = new CachedCredentials(cacheScope, workspaceId, workspaceKey, current.agentId(),
      current.agentName(), requestedName, current.token(), now()).asSuperseded();
    cache.save(superseded).onFailure(e -> LOG.warn("Could not mark the credential cache as superseded: {}", e.getMessage()));
    if (!fact.provisional()) {
      LOG.warn("{}", message);
    }
    publish(snapshot.refused(SessionState.SUPERSEDED, BrokerFailure.refusal(AGENT_SUPERSEDED, message)));
    return recorded(true, message);
  }

  /**
   * Presence says the cloud refused the token it holds. The table decides: check it with the cloud now, wait for
   * the flow under way (our own rollover may be why), or nothing (a token no longer served).
   */
  private String onTokenRefused(JsonObject refusal) {
    BrokerLife.Transition refused = on(new BrokerLife.TokenRefused(refusal.getString("token")));
    if (refused.has(BrokerLife.HoldRefusal.class)) {
      heldRefusal = refusal;
      return "wait";
    }
    return refused.has(BrokerLife.CheckRefusal.class) ? "check" : "stale";
  }

  /** The flow ended: a refusal held meanwhile goes to the table again, and to presence if it is still to be checked. */
  private void releaseHeldRefusal() {
    JsonObject refusal = heldRefusal;
    heldRefusal = null;
    if (refusal != null && "check".equals(onTokenRefused(refusal))) {
      vertx.eventBus().send(bus.presenceCheckRefusal(), refusal, new DeliveryOptions().setLocalOnly(true));
    }
  }

  private static JsonObject recorded(boolean recorded, String message) {
    return new JsonObject().put("recorded", recorded).put("message", message);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Errors and retries (SPEC §2 step 5)
  // ---------------------------------------------------------------------------------------------------------

  private Future<Session> fail(Throwable error) {
    BrokerFailure explained = explain(BrokerFailure.of(error));
    BrokerLife.Transition failed = on(new BrokerLife.FlowFailed(explained.cause()));
    if (failed.effects().isEmpty()) {
      // A flow cut short by a stop did not fail; there is nobody left to tell.
      return Future.failedFuture(error);
    }
    if (failed.has(BrokerLife.KeepServing.class)) {
      // Make before break: the rollover failed, but nothing proved the current token dead; it stays served.
      LOG.warn("Token rollover failed [{}]: {}; the current token stays in use", explained.code(), explained.getMessage());
      publish(snapshot.ready(snapshot.session(), "token rollover failed (" + explained.getMessage() + "); the current token stays in use"));
      return Future.failedFuture(explained);
    }
    LOG.error("Identity flow failed [{}]: {}", explained.code(), explained.getMessage());
    publish(snapshot.refused(SessionState.FAILED, explained));
    return Future.failedFuture(explained);
  }

  /** The one place where a failure gets its message naming agent, workspace and step; each passes here once. */
  private BrokerFailure explain(BrokerFailure f) {
    if (f.explained()) {
      return f;
    }
    String where = "agent '" + requestedName + "' in " + workspaceLabel() + (f.step() != null ? ", step " + f.step() : "");
    return switch (f.cause()) {
      case WORKSPACE_KEY_REJECTED -> f.explained("workspace key rejected (" + f.httpStatus() + " " + f.cloudCode()
        + ") for " + where + "; check the key (it came from " + options.getCloud().getWorkspaceKeySource()
        + "); the broker never switches workspaces on its own");
      case CLOUD_PROTOCOL_ERROR -> f.explained(where + ": " + f.getMessage() + "; is " + baseUrl + " a Relaycast API?");
      case CLOUD_UNAVAILABLE, CLOUD_UNREACHABLE, CLOUD_TIMEOUT -> f.explained(where + ": gave up after "
        + options.getCloud().getRetryMaxAttempts() + " attempts: " + f.getMessage());
      default -> f.explained(where + ": " + f.getMessage());
    };
  }

  /** One cloud call, retried on transient failures by the flow's {@link RetryPolicy}, each wait published. */
  private <T> Future<T> callCloud(String step, Supplier<Future<T>> call) {
    // The state the step runs in, taken once: every retry of it resumes there.
    return attempt(step, call, retries.streak(), currentStep, snapshot.message());
  }

  private <T> Future<T> attempt(String step, Supplier<Future<T>> call, RetryPolicy.Streak streak, BrokerLife.State resumeIn,
                                String resumeMessage) {
    if (stopping()) {
      // A step that would begin after the stop: a takeover or a register now would claim what nobody serves.
      return Future.failedFuture(stoppingFailure());
    }
    return call.get().recover(error -> {
      BrokerFailure f = BrokerFailure.of(error).atStep(step);
      RetryPolicy.Wait wait = streak.failed(f.retryable() && !stopping(), f.retryAfterMs());
      if (wait == null) {
        return Future.failedFuture(f);
      }
      String waiting = step + " failed (" + f.getMessage() + "); retrying in " + humanDuration(wait.delayMs()) + " (attempt " + wait.attempt() + ")";
      String line = streak.logLine(waiting);
      if (line != null) {
        LOG.warn("Agent '{}': {}", requestedName, line);
      }
      if (on(new BrokerLife.RetryWaiting(f.cause())).has(BrokerLife.AbandonFlow.class)) {
        return Future.failedFuture(f);
      }
      publish(snapshot.entering(SessionState.RETRYING, waiting, new SessionSnapshot.Retry(step, f.cause(), f.getMessage(), wait.attempt(), wait.delayMs())));
      return vertx.timer(wait.delayMs(), TimeUnit.MILLISECONDS).compose(v -> {
        if (stopping()) {
          return Future.failedFuture(f);
        }
        // Between waits, say which attempt this is and what failed last: a person polling sees progress.
        enter(resumeIn, resumeMessage + " (attempt " + (wait.attempt() + 1) + "; last: " + f.getMessage() + ")");
        return attempt(step, call, streak, resumeIn, resumeMessage);
      });
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // The snapshot and its surfaces
  // ---------------------------------------------------------------------------------------------------------

  /** A step of the flow begins: the table moves the life there (a stopping broker abandons the flow instead). */
  private void enter(BrokerLife.State step, String message) {
    currentStep = step;
    if (on(new BrokerLife.StepBegan(step)).has(BrokerLife.Publish.class)) {
      publish(snapshot.entering(step.wire(), message, null));
    }
  }

  /**
   * The one way the snapshot changes. Consumers get it on {@link Addresses#SESSION_SNAPSHOT}; a change of state
   * (or a new wait) is also announced on {@link Addresses#SESSION_STATE}; held requests are answered once settled.
   */
  private void publish(SessionSnapshot next) {
    SessionSnapshot previous = snapshot;
    if (previous.state() == SessionState.STOPPING && next.state() != SessionState.STOPPING) {
      return; // stopping absorbs every event
    }
    snapshot = next;
    cloudHealth.observe(next);
    vertx.eventBus().publish(bus.sessionSnapshot(), next, new DeliveryOptions().setLocalOnly(true));
    // A new state, or a new wait between attempts; presence and channel updates are not state transitions.
    boolean transition = next.state() != previous.state() || next.retry() != previous.retry() || previous.seq() == 0;
    if (transition) {
      publishState(next.state(), stateDetails(next));
    }
    if (next.settled()) {
      heldRequests.releaseAll(this::answer);
    }
  }

  private static JsonObject stateDetails(SessionSnapshot s) {
    JsonObject details = new JsonObject().put("message", s.message());
    if (s.retry() != null) {
      details.put("cause", s.retry().cause().code()).put("attempt", s.retry().attempt())
        .put("delayMs", s.retry().delayMs()).put("step", s.retry().step());
    } else if (s.failure() != null) {
      details.put("cause", s.failure().code()).put("retryable", s.failure().retryable());
    }
    return details;
  }

  private void publishState(SessionState next, JsonObject details) {
    JsonObject body = new JsonObject().put("state", next.wireName()).put("agentName", requestedName).mergeIn(details);
    vertx.eventBus().publish(bus.sessionState(), body);
  }

  /** Presence's transitions go into the snapshot as data; the takeover itself comes as an explicit notice. */
  private void onPresence(JsonObject event) {
    PresenceState presence;
    try {
      presence = PresenceState.parse(event.getString("state", ""));
    } catch (IllegalArgumentException unknown) {
      return;
    }
    publish(snapshot.withPresence(presence, event.getString("message")));
  }

  /** SPEC §3 session hold, on the bus: before the first session, wait for it (or its failure). */
  private void answerOrHold(Message<Object> request) {
    if (snapshot.settled() || "0".equals(request.headers().get("wait"))) {
      answer(request);
      return;
    }
    heldRequests.hold(request, MAX_BUS_HOLD_MS, this::answer);
  }

  private void answer(Message<Object> request) {
    if (snapshot.status() == 200) {
      request.reply(snapshot.session().toJson());
    } else {
      request.reply(SessionUnavailable.from(snapshot));
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Small pieces
  // ---------------------------------------------------------------------------------------------------------

  private JsonObject registrationMetadata() {
    return new IdentityProof(identity).registrationMetadata();
  }

  private Session newSession(String agentId, String agentName, String token) {
    return new Session(workspaceId, agentId, agentName, token, options.getMode().wireName(), now(), workspaceKey, baseUrl);
  }

  private static BrokerFailure stoppingFailure() {
    return BrokerFailure.refusal(FailureCause.BROKER_STOPPING, "the broker is stopping");
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
