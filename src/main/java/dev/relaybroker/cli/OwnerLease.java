package dev.relaybroker.cli;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.bus.SessionSnapshot;
import dev.relaybroker.bus.SessionState;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The owner lease of an ephemeral broker (SPEC §3 {@code /api/session/renew}): the SDK that spawned the broker
 * renews it; when nobody has for {@code leaseSecs}, the broker asks to stop. Process lifecycle, not API: the local
 * API only forwards renewals on {@link Addresses#LEASE_RENEW}.
 *
 * <p>After a refusal that needs a person (a rejected key, a name live elsewhere) the lease shrinks to
 * {@code failedGraceSecs}: an SDK whose {@code spawn()} failed does not kill the broker it started, and without
 * this the broker would hold the state-dir lock and keep the SDK's process alive for the whole lease.
 */
final class OwnerLease {
  private static final Logger LOG = LoggerFactory.getLogger(OwnerLease.class);
  /** A lease that never lapses by itself (persist mode): only the grace after a refusal applies. */
  static final long NO_LAPSE = 100L * 365 * 24 * 3600;

  private final Vertx vertx;
  private final BrokerBus bus;
  private final long leaseSecs;
  private final long failedGraceSecs;
  private long deadlineMs;
  /** Set while the identity flow has failed for good: renewals then extend by the grace only. */
  private String failure;
  private long timer = -1;

  private OwnerLease(Vertx vertx, BrokerBus bus, long leaseSecs, long failedGraceSecs) {
    this.vertx = vertx;
    this.bus = bus;
    this.leaseSecs = leaseSecs;
    this.failedGraceSecs = failedGraceSecs;
  }

  static OwnerLease start(Vertx vertx, BrokerBus bus, long leaseSecs, long failedGraceSecs, SessionSnapshot current) {
    OwnerLease lease = new OwnerLease(vertx, bus, leaseSecs, failedGraceSecs);
    lease.renew();
    vertx.eventBus().localConsumer(bus.leaseRenew(), message -> lease.renew());
    vertx.eventBus().<SessionSnapshot>localConsumer(bus.sessionSnapshot(), message -> lease.onSnapshot(message.body()));
    lease.onSnapshot(current);
    lease.timer = vertx.setPeriodic(Math.min(1000, Math.min(leaseSecs, failedGraceSecs) * 1000), id -> lease.check());
    return lease;
  }

  void cancel() {
    vertx.cancelTimer(timer);
  }

  private void onSnapshot(SessionSnapshot snapshot) {
    boolean refused = snapshot.state() == SessionState.FAILED && snapshot.failure() != null && !snapshot.failure().retryable();
    if (refused && failure == null) {
      failure = snapshot.failure().code();
      deadlineMs = Math.min(deadlineMs, System.currentTimeMillis() + failedGraceSecs * 1000);
    } else if (!refused && snapshot.state() != SessionState.FAILED) {
      failure = null;
    }
  }

  private void renew() {
    deadlineMs = System.currentTimeMillis() + (failure != null ? failedGraceSecs : leaseSecs) * 1000;
  }

  private void check() {
    if (System.currentTimeMillis() <= deadlineMs) {
      return;
    }
    deadlineMs = Long.MAX_VALUE;
    if (failure != null) {
      LOG.info("The identity flow failed ({}) and no client renewed the lease within {} s; stopping", failure, failedGraceSecs);
      vertx.eventBus().send(bus.brokerShutdown(), "identity failed (" + failure + ") and nobody renewed the lease");
    } else {
      LOG.info("Owner lease lapsed (not renewed for {} s); stopping", leaseSecs);
      vertx.eventBus().send(bus.brokerShutdown(), "owner lease lapsed");
    }
  }
}
