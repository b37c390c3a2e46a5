package dev.relaybroker.identity;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
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
  private OwnerLeaseRule rule;
  /** The cause of the refusal under way, for the log line; null while not refused. */
  private String refusal;
  private boolean lapsed;

  /**
   * @param leaseMs   how long a renewal keeps the broker ({@link OwnerLeaseRule#NO_LAPSE_MS} for no lapse)
   * @param current   the latest snapshot, read once at start (later ones arrive on the bus)
   */
  public OwnerLease(BrokerBus bus, long leaseMs, long failedGraceSecs, Supplier<SessionSnapshot> current, Runnable stopBroker) {
    this.bus = bus;
    this.leaseMs = leaseMs;
    this.graceMs = failedGraceSecs * 1000;
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
    return Future.succeededFuture();
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
