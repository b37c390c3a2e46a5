package dev.relaybroker.metrics;

import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.cloud.CloudCallObserver;
import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The broker's own meters (SPEC §3 {@code /metrics}), beside the Vert.x and JVM metrics of vertx-micrometer-metrics.
 * A part of the broker like any other: deployed with it (one per broker, handed to the parts that observe) and
 * undeployed with it, which takes its meters out of a registry it shares with the Vert.x instance, so nothing it
 * made outlives it. Off the hot path: nothing here runs per local API request; meters move on cloud calls and on
 * snapshots only.
 *
 * <p>A worker verticle ({@link #DEPLOYMENT}): the registry loads a few hundred classes, so it is made in
 * {@link #start()} on a worker thread, never on an event loop. The broker deploys it beside the local API and
 * before the parts that observe, so every observation finds the registry there. The JVM's meters and the scrape's
 * text writer follow right after the start, on the same worker: they read the JVM when scraped, so nothing is lost
 * meanwhile, and a scrape waits for them rather than see them missing.
 */
public final class BrokerMetrics extends VerticleBase implements CloudCallObserver {
  /** How the broker deploys it: on a worker, so that building the registry never stalls an event loop. */
  public static final DeploymentOptions DEPLOYMENT = new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER);

  final AtomicReference<SessionState> state = new AtomicReference<>(SessionState.STARTING);
  final AtomicReference<PresenceState> presence = new AtomicReference<>(PresenceState.CONNECTING);
  private final BrokerBus bus;
  /** Set by {@link #start()}; null before and after the deployment (an observation then is dropped, never kept). */
  private volatile Meters meters;
  /** Completes once the JVM's meters are bound and the scrape warmed up. */
  private final Promise<Void> complete = Promise.promise();
  // Snapshot handling runs on this verticle's (worker) context, one message at a time.
  private SessionSnapshot last;
  private long flowStartedNanos = System.nanoTime();
  private boolean flowRunning = true;

  /** @param bus the broker whose snapshots it follows; the unnamed broker shares Vert.x's registry, a named one keeps its own */
  public BrokerMetrics(BrokerBus bus) {
    this.bus = bus;
  }

  @Override
  public Future<?> start() {
    Meters built = new Meters(state, presence, bus.name() == null);
    meters = built;
    vertx.eventBus().<SessionSnapshot>localConsumer(bus.sessionSnapshot(), message -> onSnapshot(message.body()));
    // After the start, not in it: the deployment (and with it the way to the first session) does not wait for these.
    context.runOnContext(v -> {
      try {
        built.bindJvmMeters();
        built.warmUpScrape();
      } finally {
        complete.tryComplete(); // a scrape without the JVM's meters rather than none
      }
    });
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    Meters built = meters;
    meters = null;
    if (built != null) {
      built.close();
    }
    complete.tryFail("metrics stopped");
    return Future.succeededFuture();
  }

  @Override
  public void cloudCall(String step, String outcome, long durationNanos) {
    Meters built = meters;
    if (built != null) {
      built.cloudCall(step, outcome, durationNanos);
    }
  }

  /**
   * {@code GET /metrics}: vertx-micrometer-metrics' scraping handler over the registry, once the JVM's meters are
   * in it; answered on the caller's context.
   */
  public void serve(RoutingContext ctx) {
    Context caller = ctx.vertx().getOrCreateContext();
    complete.future().onComplete(done -> caller.runOnContext(v -> {
      Meters built = meters;
      if (built != null) {
        built.serve(ctx);
      } else {
        ctx.response().setStatusCode(503).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
          .end("# relay-broker metrics are unavailable: the broker is stopping\n");
      }
    }));
  }

  private void onSnapshot(SessionSnapshot next) {
    Meters built = meters;
    SessionSnapshot previous = last;
    last = next;
    state.set(next.state());
    presence.set(next.presence());
    if (built == null) {
      return;
    }
    if (previous != null && previous.session() != null && next.session() != null
      && previous.session().agentId().equals(next.session().agentId()) && !previous.session().token().equals(next.session().token())) {
      built.rollover();
    }
    if (next.busy() && !flowRunning) {
      flowRunning = true;
      flowStartedNanos = System.nanoTime();
    } else if (!next.busy() && flowRunning && next.state() != SessionState.STOPPING) {
      flowRunning = false;
      built.identityFlow(System.nanoTime() - flowStartedNanos);
    }
  }
}
