package dev.relaybroker;

import dev.relaybroker.files.StateDirLock;
import dev.relaybroker.files.StateDirMigration;

import dev.relaybroker.api.LocalApiVerticle;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.cloud.CloudCallObserver;
import dev.relaybroker.metrics.BrokerMetrics;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.files.AtomicFiles;
import dev.relaybroker.emulator.EmulatorOptions;
import dev.relaybroker.emulator.EmulatorVerticle;
import dev.relaybroker.identity.IdentityVerticle;
import dev.relaybroker.identity.OwnerLease;
import dev.relaybroker.identity.OwnerLeaseRule;
import dev.relaybroker.presence.PresenceVerticle;
import dev.relaybroker.metrics.StartupTrace;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Deploys one broker into a Vert.x instance: the state-dir lock, the metrics beside the local API (first, so SDKs
 * see the listening line before registration ends), the embedded emulator when no cloud is configured, presence,
 * the identity flow and the owner lease; and undeploys them in reverse. Each part registers its own health
 * procedure in the broker's {@link HealthChecks} (the state dir's is registered here, with the lock) and takes it
 * out when it stops. Used by {@link Main} and by tests, which run several brokers in one JVM.
 */
public final class BrokerApplication {
  /** The cache scope of the embedded emulator, whose port changes from run to run. */
  public static final String EMBEDDED_SCOPE = "embedded-emulator";
  public static final String EMULATOR_STATE_FILE = "emulator-state.json";
  private static final Logger LOG = LoggerFactory.getLogger(BrokerApplication.class);
  /** Per verticle; Main gives the whole stop 10 s before it exits anyway. */
  private static final long UNDEPLOY_TIMEOUT_SECS = 2;

  private final Vertx vertx;
  private final BrokerOptions options;
  private final String apiKey;
  /** Added to as parts finish deploying, two of them (metrics, local API) side by side. */
  private final List<String> deployments = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** The broker's health procedures, one per dependency, each registered by the part that owns it. */
  private final HealthChecks health;
  /** The broker's meters; null when {@code metrics.enabled} is false. */
  private final BrokerMetrics metrics;
  private Future<Void> metricsDeployed = Future.succeededFuture();
  private StateDirLock lock;
  private EmulatorVerticle emulator;
  private LocalApiVerticle localApi;
  private IdentityVerticle identity;
  private Future<Void> stopping;

  private BrokerApplication(Vertx vertx, BrokerOptions options) {
    this.vertx = vertx;
    this.options = options;
    this.apiKey = options.getApi().getApiKey() != null ? options.getApi().getApiKey() : randomApiKey();
    this.health = HealthChecks.create(vertx);
    this.metrics = options.getMetrics().isEnabled() ? new BrokerMetrics(options.bus()) : null;
  }

  public static Future<BrokerApplication> start(Vertx vertx, BrokerOptions options) {
    BrokerApplication app = new BrokerApplication(vertx, options);
    return app.deploy().map(app).recover(failure -> app.stop().transform(ignored -> Future.failedFuture(failure)));
  }

  private Future<Void> deploy() {
    Path stateDir = options.resolvedStateDir();
    return vertx.executeBlocking(() -> {
        StateDirMigration.migrate(stateDir);
        return StateDirLock.acquire(stateDir);
      }, false)
      .compose(acquired -> {
        StartupTrace.mark("state dir locked");
        lock = acquired;
        health.register("state-dir", this::checkStateDir);
        if (metrics != null) {
          // On a worker, beside the local API: awaited only before the parts that observe (presence, identity).
          metricsDeployed = deploy(metrics, BrokerMetrics.DEPLOYMENT);
        }
        // The one place the state dir's permissions are set: an existing dir may have been made wider by hand.
        return AtomicFiles.ensureOwnerOnlyDir(vertx, stateDir.toString());
      })
      // The local API first: SDKs see the listening line before registration ends, and a port already in use
      // is reported before anything else (the embedded emulator) has started.
      .compose(v -> {
        if (!options.getApi().isEnabled()) {
          return Future.<Void>succeededFuture();
        }
        localApi = new LocalApiVerticle(options, apiKey, health, metrics);
        return deploy(localApi);
      })
      .compose(v -> options.isEmbeddedDefault() ? deployEmbeddedEmulator(stateDir) : Future.succeededFuture(configuredCloud()))
      .compose(baseUrl -> metricsDeployed.map(baseUrl))
      // Presence before identity: it must see the first resolved session.
      .compose(baseUrl -> options.getPresence().isEnabled()
        ? deploy(new PresenceVerticle(options.getPresence(), options.getCloud(), options.bus(), observer(), health)).map(baseUrl)
        : Future.succeededFuture(baseUrl))
      .compose(baseUrl -> warmUpTls(baseUrl).map(baseUrl))
      .compose(baseUrl -> {
        identity = new IdentityVerticle(options, baseUrl, options.isEmbeddedDefault() ? EMBEDDED_SCOPE : baseUrl, observer(), health);
        return deploy(identity);
      })
      .compose(v -> {
        // Every broker has a lease. A persist-mode broker an SDK spawned has none to lapse, only the grace after a
        // refusal; one a person started has neither: it runs until it is stopped.
        boolean ephemeral = options.getMode() == BrokerMode.EPHEMERAL;
        long leaseMs = ephemeral ? options.getLeaseSecs() * 1000 : OwnerLeaseRule.NO_LAPSE_MS;
        long graceMs = ephemeral || options.isClientSpawned() ? options.getFailedGraceSecs() * 1000 : OwnerLeaseRule.NO_LAPSE_MS;
        return deploy(new OwnerLease(options.bus(), leaseMs, graceMs, identity::snapshot, this::stop, health));
      });
  }

  private CloudCallObserver observer() {
    return metrics != null ? metrics : CloudCallObserver.NONE;
  }

  /** The {@code state-dir} procedure: a writable directory, checked on a worker (it touches the file system). */
  private void checkStateDir(io.vertx.core.Promise<Status> promise) {
    Path stateDir = options.resolvedStateDir();
    vertx.executeBlocking(() -> Files.isDirectory(stateDir) && Files.isWritable(stateDir), false)
      .onComplete(writable -> promise.complete(writable.succeeded() && writable.result()
        ? Status.OK() : Status.KO(new JsonObject().put("reason", "the state dir is not a writable directory"))));
  }

  /**
   * The first TLS connection builds Netty's client SSL context, and with it loads the JDK's TLS classes: about
   * 200 ms, which would otherwise stall the event loop on the first request to an https cloud (seen by the
   * blocked-thread checker). Done once on a worker, and only when the cloud needs it.
   */
  private Future<Void> warmUpTls(String baseUrl) {
    if (!baseUrl.regionMatches(true, 0, "https:", 0, 6)) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> {
      io.netty.handler.ssl.SslContextBuilder.forClient().build();
      return null;
    }, false).<Void>mapEmpty().otherwiseEmpty();
  }

  /** The configured cloud's URL, said once with where it and the key came from (never the key itself). */
  private String configuredCloud() {
    CloudOptions cloud = options.getCloud();
    String baseUrl = cloud.effectiveBaseUrl();
    LOG.info("Cloud {} (base URL: {}; workspace key: {})", baseUrl, cloud.getBaseUrlSource(),
      cloud.getWorkspaceKey() != null ? cloud.getWorkspaceKeySource() : "none, a new workspace is created");
    return baseUrl;
  }

  private Future<String> deployEmbeddedEmulator(Path stateDir) {
    LOG.info("No workspace key and no base URL: starting the embedded Relaycast emulator");
    emulator = new EmulatorVerticle(new EmulatorOptions()
      .setEngine(Engine.parse(options.getEmulatorEngine()))
      .setStateFile(stateDir.resolve(EMULATOR_STATE_FILE).toString()));
    return deploy(emulator).map(v -> emulator.baseUrl());
  }

  private Future<Void> deploy(io.vertx.core.Deployable verticle) {
    return deploy(verticle, new io.vertx.core.DeploymentOptions());
  }

  private Future<Void> deploy(io.vertx.core.Deployable verticle, io.vertx.core.DeploymentOptions deployment) {
    return vertx.deployVerticle(verticle, deployment).map(id -> {
      deployments.add(id);
      return null;
    });
  }

  /** Graceful stop: verticles undeployed in reverse (identity first: state {@code stopping}; files cleaned), lock released. */
  public synchronized Future<Void> stop() {
    if (stopping == null) {
      // The metrics deploy beside the local API: a start that failed meanwhile waits for them, so they stop too.
      stopping = metricsDeployed.otherwiseEmpty().compose(v -> stopDeployed());
    }
    return stopping;
  }

  private Future<Void> stopDeployed() {
    List<String> reversed = new ArrayList<>(deployments);
    Collections.reverse(reversed);
    Future<Void> chain = Future.succeededFuture();
    for (String id : reversed) {
      // Bounded, so that one part stuck in its stop (seen: a WebSocket client whose connection's peer vanished
      // mid-close) cannot keep the others, the local API's file cleanup among them, from stopping.
      chain = chain.eventually(() -> vertx.undeploy(id)
        .timeout(UNDEPLOY_TIMEOUT_SECS, TimeUnit.SECONDS)
        .onFailure(e -> LOG.warn("A part of the broker did not stop within {} s; stopping the rest", UNDEPLOY_TIMEOUT_SECS))
        .otherwiseEmpty());
    }
    return chain.eventually(() -> {
      health.unregister("state-dir");
      if (lock != null) {
        lock.close();
      }
      return Future.succeededFuture();
    });
  }

  /** The latest session snapshot (see {@link SessionSnapshot}); the initial one until identity has started. */
  public SessionSnapshot snapshot() {
    return identity != null ? identity.snapshot() : SessionSnapshot.initial(options.getPresence().isEnabled());
  }

  /** The local API's TCP port; -1 when {@code api.enabled} is false. */
  public int apiPort() { return localApi != null ? localApi.port() : -1; }
  public String apiKey() { return apiKey; }
  /** The Unix socket's path; null when there is none. */
  public String socketPath() { return localApi != null ? localApi.socketPath() : null; }
  public BrokerOptions options() { return options; }
  /** The event-bus addresses this broker uses. */
  public dev.relaybroker.bus.BrokerBus bus() { return options.bus(); }

  private static String randomApiKey() {
    byte[] bytes = new byte[16];
    new SecureRandom().nextBytes(bytes);
    return "br_" + HexFormat.of().formatHex(bytes);
  }
}
