package dev.relaybroker.identity;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * The owner lease of an ephemeral (or SDK-spawned) broker (SPEC §3 {@code /api/session/renew}): the SDK that
 * spawned the broker renews it; when the {@link OwnerLeaseRule} says it lapsed, the broker stops itself. Process
 * lifecycle, not API: the local API only forwards renewals on {@link Addresses#LEASE_RENEW}.
 *
 * <p>Deployed and undeployed with the broker: its consumers and its clock go with it. It stops the broker
 * through {@code stopBroker}, and also asks on {@link Addresses#BROKER_SHUTDOWN}, so a process that owns the
 * broker ({@code Main}) exits; an embedded broker stops without anybody listening there.
 */
public final class OwnerLease extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(OwnerLease.class);

  private final BrokerBus bus;
  private final long leaseMs;
  private final long graceMs;
  private final Supplier<SessionSnapshot> current;
  private final Runnable stopBroker;
  /** The broker's health procedures; the lease owns {@code lease}. */
  private final HealthChecks health;
  /** Replaced whole on this verticle's event loop; volatile for the health procedure, which may run elsewhere. */
  private volatile OwnerLeaseRule rule;
  /** The cause of the refusal under way, for the log line; null while not refused. */
  private String refusal;
  private volatile boolean lapsed;

  /**
   * @param leaseMs   how long a renewal keeps the broker ({@link OwnerLeaseRule#NO_LAPSE_MS} for no lapse)
   * @param graceMs   how long a refused broker waits for a renewal ({@link OwnerLeaseRule#NO_LAPSE_MS}: for ever)
   * @param current   the latest snapshot, read once at start (later ones arrive on the bus)
   * @param health    the broker's health procedures: the lease registers {@code lease} there for as long as it runs
   */
  public OwnerLease(BrokerBus bus, long leaseMs, long graceMs, Supplier<SessionSnapshot> current, Runnable stopBroker,
                    HealthChecks health) {
    this.bus = bus;
    this.leaseMs = leaseMs;
    this.graceMs = graceMs;
    this.health = health;
    this.current = current;
    this.stopBroker = stopBroker;
  }

  @Override
  public Future<?> start() {
    rule = OwnerLeaseRule.startedAt(System.currentTimeMillis(), leaseMs, graceMs);
    vertx.eventBus().localConsumer(bus.leaseRenew(), message -> rule = rule.renewedAt(System.currentTimeMillis()));
    vertx.eventBus().<SessionSnapshot>localConsumer(bus.sessionSnapshot(), message -> onSnapshot(message.body()));
    onSnapshot(current.get());
    vertx.setPeriodic(Math.min(1000, Math.min(leaseMs, graceMs)), id -> check());
    health.register("lease", promise -> promise.complete(status(System.currentTimeMillis())));
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    health.unregister("lease");
    return Future.succeededFuture();
  }

  /**
   * Up while the lease holds: how long it has left by its rule (the grace, while refused), or that it never lapses
   * (a persist broker).
   */
  private Status status(long nowMs) {
    if (leaseMs >= OwnerLeaseRule.NO_LAPSE_MS) {
      return Status.OK(new JsonObject().put("persist", true));
    }
    long left = Math.max(0, rule.deadlineMs() - nowMs) / 1000;
    return !lapsed && left > 0 ? Status.OK(new JsonObject().put("expires_in_secs", left))
      : Status.KO(new JsonObject().put("reason", "the owner lease lapsed: nobody renewed it"));
  }

  private void onSnapshot(SessionSnapshot snapshot) {
    // A failure that needs a person; a retryable one (an outage given up on) is left to the lease as before.
    boolean refused = snapshot.state() == SessionState.FAILED && snapshot.failure() != null && !snapshot.failure().retryable();
    if (refused) {
      refusal = snapshot.failure().code();
    } else if (snapshot.state() != SessionState.FAILED) {
      refusal = null;
    }
    rule = rule.refused(refusal != null, System.currentTimeMillis());
  }

  private void check() {
    long now = System.currentTimeMillis();
    if (lapsed || !rule.lapsedAt(now)) {
      return;
    }
    lapsed = true;
    if (rule.byGrace()) {
      LOG.info("The identity flow failed ({}) and no client renewed the lease within {} s; stopping", refusal, graceMs / 1000);
      vertx.eventBus().send(bus.brokerShutdown(), "identity failed (" + refusal + ") and nobody renewed the lease");
    } else {
      LOG.info("Owner lease lapsed (not renewed for {} s); stopping", (now - rule.renewedAtMs()) / 1000);
      vertx.eventBus().send(bus.brokerShutdown(), "owner lease lapsed");
    }
    stopBroker.run();
  }
}
