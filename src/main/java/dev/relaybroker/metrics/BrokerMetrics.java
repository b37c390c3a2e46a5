package dev.relaybroker.metrics;

import dev.relaybroker.bus.BrokerBus;
import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import dev.relaybroker.cloud.CloudCallObserver;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The broker's own meters (SPEC §3 {@code /metrics}), beside the Vert.x and JVM metrics of vertx-micrometer-metrics
 * when the Vert.x instance was made with them (the command line does). Off the hot path: nothing here runs per
 * local API request; meters move on cloud calls and on snapshots only.
 *
 * <p>The registry ({@link Meters}) loads a few hundred classes: it is built on a worker while the broker starts
 * ({@link #buildOnWorker}), never on an event loop, and never on the way to the first session. Observations made
 * before it exists are kept and replayed into it.
 */
public final class BrokerMetrics implements CloudCallObserver {
  private static final Logger LOG = LoggerFactory.getLogger(BrokerMetrics.class);
  /** Per Vert.x, then per bus name ("" for the unnamed broker). */
  private static final Map<Vertx, Map<String, BrokerMetrics>> BY_VERTX = new WeakHashMap<>();

  final AtomicReference<SessionState> state = new AtomicReference<>(SessionState.STARTING);
  final AtomicReference<PresenceState> presence = new AtomicReference<>(PresenceState.CONNECTING);
  /** Null until built; then every observation goes straight to it. */
  private volatile Meters meters;
  /** Observations made before the registry existed, replayed into it. */
  private final List<Consumer<Meters>> early = new ArrayList<>();
  private SessionSnapshot last;
  private long flowStartedNanos = System.nanoTime();
  private boolean flowRunning = true;

  private final BrokerBus bus;
  private Future<Void> building;
  private boolean abandoned;

  private BrokerMetrics(BrokerBus bus) {
    this.bus = bus;
  }

  /**
   * The metrics of the broker on this bus of this Vert.x, made on first use.
   * The unnamed broker shares Vert.x's Prometheus registry when there is one; a named one keeps its own.
   */
  public static synchronized BrokerMetrics of(Vertx vertx, BrokerBus bus) {
    return BY_VERTX.computeIfAbsent(vertx, v -> new java.util.HashMap<>())
      .computeIfAbsent(bus.name() == null ? "" : bus.name(), n -> new BrokerMetrics(bus));
  }

  /** Builds the registry on a worker, once; until it exists, a scrape says so and observations wait for it. */
  public synchronized Future<Void> buildOnWorker(Vertx vertx) {
    if (building == null) {
      building = vertx.<Void>executeBlocking(() -> {
        ready(new Meters(this, bus.name() == null, vertx));
        return null;
      }, false).onFailure(this::abandon);
    }
    return building;
  }

  /** Follows the snapshots of the broker on its bus. */
  public BrokerMetrics follow(Vertx vertx) {
    vertx.eventBus().<SessionSnapshot>localConsumer(bus.sessionSnapshot(), message -> onSnapshot(message.body()));
    return this;
  }

  @Override
  public void cloudCall(String step, String outcome, long durationNanos) {
    record(m -> m.cloudCall(step, outcome, durationNanos));
  }

  /**
   * {@code GET /metrics}: vertx-micrometer-metrics' scraping handler over the registry. A scrape in the first moments
   * after start waits for the registry (built on a worker) rather than see it empty.
   */
  public void serve(RoutingContext ctx) {
    buildOnWorker(ctx.vertx()).onComplete(built -> {
      Meters ready = meters;
      if (ready != null) {
        ready.serve(ctx);
      } else {
        ctx.response().setStatusCode(503).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
          .end("# relay-broker metrics are unavailable (see the log)\n");
      }
    });
  }

  private synchronized void ready(Meters built) {
    early.forEach(observation -> observation.accept(built));
    early.clear();
    meters = built;
  }

  private synchronized void record(Consumer<Meters> observation) {
    Meters built = meters;
    if (built != null) {
      observation.accept(built);
    } else if (!abandoned) {
      early.add(observation);
    }
  }

  /** A registry that could not be built: said once, and nothing kept for it (a broker runs for days). */
  private synchronized void abandon(Throwable failure) {
    LOG.warn("Metrics are unavailable: the registry could not be built ({})", failure.toString());
    abandoned = true;
    early.clear();
  }

  private synchronized void onSnapshot(SessionSnapshot next) {
    SessionSnapshot previous = last;
    last = next;
    state.set(next.state());
    presence.set(next.presence());
    if (previous != null && previous.session() != null && next.session() != null
      && previous.session().agentId().equals(next.session().agentId()) && !previous.session().token().equals(next.session().token())) {
      record(Meters::rollover);
    }
    if (next.busy() && !flowRunning) {
      flowRunning = true;
      flowStartedNanos = System.nanoTime();
    } else if (!next.busy() && flowRunning && next.state() != SessionState.STOPPING) {
      flowRunning = false;
      long took = System.nanoTime() - flowStartedNanos;
      record(m -> m.identityFlow(took));
    }
  }
}
