package dev.relaybroker.metrics;

import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.SessionState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.micrometer.backends.BackendRegistries;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;

/**
 * The Micrometer side of {@link BrokerMetrics}: on Vert.x's own Prometheus registry when the Vert.x has one (so one
 * scrape holds both), else on a registry of its own; the JVM's meters beside them, unless the registry has them
 * already. {@code /metrics} is vertx-micrometer-metrics' {@link PrometheusScrapingHandler} over this registry.
 * Every meter it adds to a shared registry it takes out again in {@link #close()}.
 */
final class Meters {
  /** A dozen buckets from a fast loopback answer to a request timeout: enough to see an outage, cheap to scrape. */
  private static final Duration[] CLOUD_BUCKETS = LongStream.of(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000)
    .mapToObj(Duration::ofMillis).toArray(Duration[]::new);

  private final PrometheusMeterRegistry registry;
  private final boolean ownRegistry;
  private final Handler<RoutingContext> scraper;
  private final Counter rollovers;
  private final Timer identityFlow;
  /** What this broker added to the registry (meters of cloud calls come as they happen, from any thread). */
  private final Set<Meter.Id> added = ConcurrentHashMap.newKeySet();
  private JvmGcMetrics gc;

  Meters(AtomicReference<SessionState> state, AtomicReference<PresenceState> presence, boolean mayShareVertxRegistry) {
    if (mayShareVertxRegistry && BackendRegistries.getDefaultNow() instanceof PrometheusMeterRegistry shared) {
      registry = shared;
      ownRegistry = false;
    } else {
      registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      ownRegistry = true;
    }
    for (SessionState s : SessionState.values()) {
      keep(Gauge.builder("relay_broker_session_state", state, current -> current.get() == s ? 1 : 0)
        .description("1 for the identity flow's current state").tag("state", s.wireName()).register(registry));
    }
    for (PresenceState p : PresenceState.values()) {
      keep(Gauge.builder("relay_broker_presence_state", presence, current -> current.get() == p ? 1 : 0)
        .description("1 for the realtime connection's current state").tag("state", p.wireName()).register(registry));
    }
    rollovers = keep(Counter.builder("relay_broker_token_rollovers").description("token rollovers of the same agent").register(registry));
    identityFlow = keep(Timer.builder("relay_broker_identity_flow_seconds")
      .description("from the start of an identity flow (start, refresh, reclaim) to ready or a refusal").register(registry));
    scraper = PrometheusScrapingHandler.create(registry);
  }

  private <M extends Meter> M keep(M meter) {
    added.add(meter.getId());
    return meter;
  }

  /**
   * The JVM's meters, unless the registry has them: the command line makes its Vert.x with JVM metrics off (the
   * MXBeans they read take a good part of a start-up), an embedding application's Vert.x may have them on, and a
   * second set would repeat each family in the scrape, which Prometheus refuses. The GC binder listens to JMX
   * notifications while it is open: closed in {@link #close()}, so brokers started one after another in one JVM do
   * not pile listeners up.
   */
  void bindJvmMeters() {
    if (registry.find("jvm.memory.used").meter() != null) {
      return;
    }
    Set<Meter.Id> before = new HashSet<>();
    registry.getMeters().forEach(m -> before.add(m.getId()));
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    gc = new JvmGcMetrics();
    gc.bindTo(registry);
    registry.getMeters().stream().map(Meter::getId).filter(id -> !before.contains(id)).forEach(added::add);
  }

  /** Loads the text writer's classes on the worker, rather than on the first scrape's event loop. */
  void warmUpScrape() {
    registry.scrape();
  }

  void cloudCall(String step, String outcome, long durationNanos) {
    keep(Counter.builder("relay_broker_cloud_requests").description("REST calls to the Relaycast cloud")
      .tag("step", step).tag("outcome", outcome).register(registry)).increment();
    keep(Timer.builder("relay_broker_cloud_request_seconds").description("duration of REST calls to the Relaycast cloud")
      .tag("step", step).serviceLevelObjectives(CLOUD_BUCKETS).register(registry)).record(durationNanos, TimeUnit.NANOSECONDS);
  }

  void rollover() {
    rollovers.increment();
  }

  void identityFlow(long durationNanos) {
    identityFlow.record(durationNanos, TimeUnit.NANOSECONDS);
  }

  /** Answers a scrape: the Prometheus text (or OpenMetrics, as the scraper's Accept header asks). */
  void serve(RoutingContext ctx) {
    scraper.handle(ctx);
  }

  /** Takes out what this broker added: the whole registry when it is its own, its meters from a shared one. */
  void close() {
    if (gc != null) {
      gc.close();
    }
    if (ownRegistry) {
      registry.close();
    } else {
      List.copyOf(added).forEach(registry::remove);
    }
    added.clear();
  }
}
