package dev.relaybroker.cli;

import dev.relaybroker.bus.Addresses;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The owner lease of an ephemeral broker (SPEC §3 {@code /api/session/renew}): the SDK that spawned the broker
 * renews it; when nobody has for {@code leaseSecs}, the broker asks to stop. Process lifecycle, not API: the local
 * API only forwards renewals on {@link Addresses#LEASE_RENEW}.
 */
final class OwnerLease {
  private static final Logger LOG = LoggerFactory.getLogger(OwnerLease.class);

  private final Vertx vertx;
  private final long leaseSecs;
  private long deadlineMs;
  private long timer = -1;

  private OwnerLease(Vertx vertx, long leaseSecs) {
    this.vertx = vertx;
    this.leaseSecs = leaseSecs;
  }

  static OwnerLease start(Vertx vertx, long leaseSecs) {
    OwnerLease lease = new OwnerLease(vertx, leaseSecs);
    lease.renew();
    vertx.eventBus().localConsumer(Addresses.LEASE_RENEW, message -> lease.renew());
    lease.timer = vertx.setPeriodic(Math.min(1000, leaseSecs * 1000), id -> lease.check());
    return lease;
  }

  void cancel() {
    vertx.cancelTimer(timer);
  }

  private void renew() {
    deadlineMs = System.currentTimeMillis() + leaseSecs * 1000;
  }

  private void check() {
    if (System.currentTimeMillis() > deadlineMs) {
      LOG.info("Owner lease lapsed (not renewed for {} s); stopping", leaseSecs);
      deadlineMs = Long.MAX_VALUE;
      vertx.eventBus().send(Addresses.BROKER_SHUTDOWN, "owner lease lapsed");
    }
  }
}
