package dev.relaybroker.metrics;

import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.SessionState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.ext.web.RoutingContext;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.micrometer.backends.BackendRegistries;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

/**
 * The Micrometer side of {@link BrokerMetrics}: on Vert.x's own Prometheus registry when the Vert.x has one (so one
 * scrape holds both), else on a registry of its own; the JVM's meters beside them, unless the Vert.x binds them
 * already. Built on a worker. {@code /metrics} is vertx-micrometer-metrics' {@link PrometheusScrapingHandler} over
 * this registry.
 */
final class Meters {
  /** A dozen buckets from a fast loopback answer to a request timeout: enough to see an outage, cheap to scrape. */
  private static final Duration[] CLOUD_BUCKETS = LongStream.of(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000)
    .mapToObj(Duration::ofMillis).toArray(Duration[]::new);

  private final PrometheusMeterRegistry registry;
  private final Handler<RoutingContext> scraper;
  private final Counter rollovers;
  private final Timer identityFlow;

  Meters(BrokerMetrics metrics, boolean mayShareVertxRegistry, Vertx vertx) {
    registry = mayShareVertxRegistry && BackendRegistries.getDefaultNow() instanceof PrometheusMeterRegistry shared
      ? shared : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // The JVM's meters are bound here, on the worker, rather than by Vert.x when it is made (the MXBeans they read
    // take a good part of a start-up): the command line makes its Vert.x with JVM metrics off. An embedding
    // application's Vert.x may have them on; then they are in the shared registry already, and a second set would
    // repeat each family in the scrape, which Prometheus refuses.
    if (registry.find("jvm.memory.used").meter() == null) {
      bindJvmMeters(vertx);
    }
    for (SessionState s : SessionState.values()) {
      Gauge.builder("relay_broker_session_state", metrics.state, current -> current.get() == s ? 1 : 0)
        .description("1 for the identity flow's current state").tag("state", s.wireName()).register(registry);
    }
    for (PresenceState p : PresenceState.values()) {
      Gauge.builder("relay_broker_presence_state", metrics.presence, current -> current.get() == p ? 1 : 0)
        .description("1 for the realtime connection's current state").tag("state", p.wireName()).register(registry);
    }
    rollovers = Counter.builder("relay_broker_token_rollovers").description("token rollovers of the same agent").register(registry);
    identityFlow = Timer.builder("relay_broker_identity_flow_seconds")
      .description("from the start of an identity flow (start, refresh, reclaim) to ready or a refusal").register(registry);
    scraper = PrometheusScrapingHandler.create(registry);
    warmUpScrape(registry);
  }

  /**
   * The GC binder listens to JMX notifications for as long as it is open: it is closed with the Vert.x that the
   * meters belong to, so an application that starts many brokers does not pile listeners up.
   */
  private void bindJvmMeters(Vertx vertx) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    ((VertxInternal) vertx).addCloseHook(completion -> {
      gc.close();
      completion.succeed();
    });
  }

  private static boolean scraped;

  /** Loads the text writer's classes here, on the worker, once per JVM, rather than on the first scrape's event loop. */
  private static synchronized void warmUpScrape(PrometheusMeterRegistry registry) {
    if (!scraped) {
      registry.scrape();
      scraped = true;
    }
  }

  void cloudCall(String step, String outcome, long durationNanos) {
    Counter.builder("relay_broker_cloud_requests").description("REST calls to the Relaycast cloud")
      .tag("step", step).tag("outcome", outcome).register(registry).increment();
    Timer.builder("relay_broker_cloud_request_seconds").description("duration of REST calls to the Relaycast cloud")
      .tag("step", step).serviceLevelObjectives(CLOUD_BUCKETS).register(registry).record(durationNanos, TimeUnit.NANOSECONDS);
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
}
