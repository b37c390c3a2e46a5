package dev.relaybroker.metrics;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.bus.PresenceState;
import dev.relaybroker.bus.SessionSnapshot;
import dev.relaybroker.bus.SessionState;
import dev.relaybroker.cloud.CloudCallObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.micrometer.backends.BackendRegistries;

import java.time.Duration;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The broker's own meters (SPEC §3 {@code /metrics}), beside the Vert.x and JVM metrics of vertx-micrometer-metrics
 * when the Vert.x instance was made with them (the command line does). Off the hot path: nothing here runs per
 * local API request; meters move on cloud calls and on snapshots only.
 */
public final class BrokerMetrics implements CloudCallObserver {
  private static final Map<Vertx, BrokerMetrics> BY_VERTX = new WeakHashMap<>();
  /** A dozen buckets from a fast loopback answer to a request timeout: enough to see an outage, cheap to scrape. */
  private static final Duration[] CLOUD_BUCKETS = java.util.stream.LongStream.of(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000)
    .mapToObj(Duration::ofMillis).toArray(Duration[]::new);

  private final PrometheusMeterRegistry registry;
  private final AtomicReference<SessionState> state = new AtomicReference<>(SessionState.STARTING);
  private final AtomicReference<PresenceState> presence = new AtomicReference<>(PresenceState.CONNECTING);
  private final Counter rollovers;
  private final Timer identityFlow;
  private long flowStartedNanos = System.nanoTime();
  private boolean flowRunning = true;

  private BrokerMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    for (SessionState s : SessionState.values()) {
      Gauge.builder("relay_broker_session_state", state, current -> current.get() == s ? 1 : 0)
        .description("1 for the identity flow's current state").tag("state", s.wireName()).register(registry);
    }
    for (PresenceState p : PresenceState.values()) {
      Gauge.builder("relay_broker_presence_state", presence, current -> current.get() == p ? 1 : 0)
        .description("1 for the realtime connection's current state").tag("state", p.wireName()).register(registry);
    }
    rollovers = Counter.builder("relay_broker_token_rollovers").description("token rollovers of the same agent").register(registry);
    identityFlow = Timer.builder("relay_broker_identity_flow_seconds")
      .description("from the start of an identity flow (start, refresh, reclaim) to ready or a refusal").register(registry);
  }

  /**
   * The metrics of the broker in this Vert.x: on Vert.x's own Prometheus registry when it has one (so one scrape
   * holds both), else on a registry of their own with the JVM binders.
   */
  public static synchronized BrokerMetrics of(Vertx vertx) {
    return BY_VERTX.computeIfAbsent(vertx, v -> {
      if (BackendRegistries.getDefaultNow() instanceof PrometheusMeterRegistry shared) {
        return new BrokerMetrics(shared);
      }
      PrometheusMeterRegistry own = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      new JvmMemoryMetrics().bindTo(own);
      new JvmGcMetrics().bindTo(own);
      new JvmThreadMetrics().bindTo(own);
      new ProcessorMetrics().bindTo(own);
      return new BrokerMetrics(own);
    });
  }

  /** Follows the snapshots of this Vert.x's broker. */
  public BrokerMetrics follow(Vertx vertx) {
    vertx.eventBus().<SessionSnapshot>localConsumer(Addresses.SESSION_SNAPSHOT, message -> onSnapshot(message.body()));
    return this;
  }

  @Override
  public void cloudCall(String step, String outcome, long durationNanos) {
    Counter.builder("relay_broker_cloud_requests").description("REST calls to the Relaycast cloud")
      .tag("step", step).tag("outcome", outcome).register(registry).increment();
    Timer.builder("relay_broker_cloud_request_seconds").description("duration of REST calls to the Relaycast cloud")
      .tag("step", step).serviceLevelObjectives(CLOUD_BUCKETS).register(registry).record(durationNanos, TimeUnit.NANOSECONDS);
  }

  private SessionSnapshot last;

  private synchronized void onSnapshot(SessionSnapshot next) {
    SessionSnapshot previous = last;
    last = next;
    state.set(next.state());
    presence.set(next.presence());
    if (previous != null && previous.session() != null && next.session() != null
      && previous.session().agentId().equals(next.session().agentId()) && !previous.session().token().equals(next.session().token())) {
      rollovers.increment();
    }
    if (next.busy() && !flowRunning) {
      flowRunning = true;
      flowStartedNanos = System.nanoTime();
    } else if (!next.busy() && flowRunning && next.state() != SessionState.STOPPING) {
      flowRunning = false;
      identityFlow.record(System.nanoTime() - flowStartedNanos, TimeUnit.NANOSECONDS);
    }
  }

  /** The Prometheus text format. */
  public String scrape() {
    return registry.scrape();
  }
}
