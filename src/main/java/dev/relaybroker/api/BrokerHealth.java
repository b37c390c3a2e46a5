package dev.relaybroker.api;

import dev.relaybroker.session.FailureCause;
import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The broker's dependencies as vertx-health-check procedures, each with its own status: the cloud (reachable, key
 * accepted), the realtime connection, the state dir (writable), the owner lease. {@code GET /health} keeps the body
 * SDKs read (always 200 while the process serves: it is a liveness answer) and lists the checks under
 * {@code checks}; {@code GET /health/checks} is the library's own {@link HealthCheckHandler} answer (200 when all are
 * UP, 503 otherwise) for a supervisor that wants readiness.
 *
 * <p>The procedures read what their owners report (the identity flow and presence through the session snapshot,
 * the lease through the renewals this API forwards), so they never ask the cloud themselves: a health poll costs
 * nothing outside the process.
 */
final class BrokerHealth {
  /** Causes that mean the cloud cannot be reached or is not answering. */
  private static final Set<FailureCause> CLOUD_DOWN = Set.of(FailureCause.CLOUD_UNREACHABLE, FailureCause.CLOUD_TIMEOUT,
    FailureCause.CLOUD_UNAVAILABLE);

  private final HealthChecks checks;
  /**
   * The last wait of the identity flow on the cloud, until the flow next succeeds: between two attempts the state
   * goes back to registering, and the cloud is no more reachable for that.
   */
  private SessionSnapshot.Retry lastCloudWait;

  private BrokerHealth(HealthChecks checks) {
    this.checks = checks;
  }

  /** Fed every snapshot the local API sees. */
  void observe(SessionSnapshot next) {
    if (next.retry() != null && CLOUD_DOWN.contains(next.retry().cause())) {
      lastCloudWait = next.retry();
    } else if (next.retry() == null && (next.state() == SessionState.READY || next.state() == SessionState.FAILED)) {
      lastCloudWait = null;
    }
  }

  /**
   * @param snapshot     the latest session snapshot (identity flow and presence report through it)
   * @param stateDir     the state dir, checked for a writable directory on a worker
   * @param leaseLeftSecs seconds left on the owner lease, or a negative number when there is none (persist mode)
   */
  static BrokerHealth create(Vertx vertx, Supplier<SessionSnapshot> snapshot, Path stateDir, LongSupplier leaseLeftSecs) {
    HealthChecks checks = HealthChecks.create(vertx);
    BrokerHealth health = new BrokerHealth(checks);
    checks.register("cloud", promise -> promise.complete(health.cloud(snapshot.get())));
    checks.register("realtime", promise -> promise.complete(realtime(snapshot.get())));
    checks.register("state-dir", promise -> vertx.executeBlocking(() -> Files.isDirectory(stateDir) && Files.isWritable(stateDir))
      .onComplete(writable -> promise.complete(writable.succeeded() && writable.result()
        ? Status.OK() : Status.KO(new JsonObject().put("reason", "the state dir is not a writable directory")))));
    checks.register("lease", promise -> {
      long left = leaseLeftSecs.getAsLong();
      promise.complete(left < 0 ? Status.OK(new JsonObject().put("persist", true))
        : left > 0 ? Status.OK(new JsonObject().put("expires_in_secs", left))
        : Status.KO(new JsonObject().put("reason", "the owner lease lapsed: nobody renewed it")));
    });
    return health;
  }

  /** {@code GET /health/checks}: the library's answer, before authentication like {@code /health}. */
  void mount(Router router) {
    router.get("/health/checks").handler(HealthCheckHandler.createWithHealthChecks(checks));
  }

  /** Each check as {@code {id, status: UP|DOWN, data?}}, for {@code /health}'s {@code checks}. */
  Future<JsonArray> results() {
    return checks.checkStatus().map(result -> result.toJson().getJsonArray("checks", new JsonArray()));
  }

  private Status cloud(SessionSnapshot s) {
    SessionSnapshot.Retry wait = lastCloudWait;
    if (wait != null) {
      return Status.KO(new JsonObject().put("cause", wait.cause().code()).put("attempt", wait.attempt()));
    }
    if (s.state() == SessionState.FAILED && s.failure() != null) {
      return Status.KO(new JsonObject().put("cause", s.failure().code()));
    }
    return Status.OK(new JsonObject().put("state", s.state().wireName()));
  }

  private static Status realtime(SessionSnapshot s) {
    JsonObject data = new JsonObject().put("presence", PeerFields.presence(s));
    return s.presence() == PresenceState.ONLINE || s.presence() == PresenceState.DISABLED ? Status.OK(data) : Status.KO(data);
  }
}
