package dev.relaybroker.api;

import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /metrics}: Prometheus text an operator scrapes, whose counters agree with what the cloud saw. */
class MetricsTest {
  /** {@code name{labels} value}, the text format's sample line. */
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})?\\s+(\\S+)$");

  @TempDir
  Path stateDir;

  private EmulatorDriver emulator;
  private Vertx clients;
  private WebClient web;

  @BeforeEach
  void start() {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    clients = Vertx.vertx(TestVertx.options());
    web = WebClient.create(clients);
  }

  @AfterEach
  void stop() {
    web.close();
    await(clients.close());
    emulator.close();
  }

  @Test
  void afterARunWithRetriesTheCountersMatchTheCloudsRequestLog() {
    String key = emulator.createWorkspace();
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 503).put("count", 2));
    try (Machine broker = Machine.start(Machine.options(emulator, key, "alpha", stateDir))) {
      broker.awaitReady();
      broker.refresh();

      HttpResponse<Buffer> unauthorized = await(web.get(broker.app().apiPort(), "127.0.0.1", "/metrics").send());
      dev.relaybroker.support.Await.until("the broker's meters", () -> await(web.get(broker.app().apiPort(), "127.0.0.1", "/metrics")
        .putHeader("X-API-Key", broker.app().apiKey()).send()).bodyAsString().contains("relay_broker_session_state"));
      HttpResponse<Buffer> scraped = await(web.get(broker.app().apiPort(), "127.0.0.1", "/metrics")
        .putHeader("X-API-Key", broker.app().apiKey()).send());

      assertThat(unauthorized.statusCode()).isEqualTo(401);
      assertThat(scraped.statusCode()).isEqualTo(200);
      assertThat(scraped.getHeader("Content-Type")).startsWith("text/plain");
      Map<String, Double> samples = parse(scraped.bodyAsString());
      assertThat(samples.get("relay_broker_cloud_requests_total{outcome=\"cloud_unavailable\",step=\"register\"}")).isEqualTo(2.0);
      assertThat(samples.get("relay_broker_cloud_requests_total{outcome=\"success\",step=\"register\"}")).isEqualTo(1.0);
      assertThat(samples.get("relay_broker_cloud_requests_total{outcome=\"success\",step=\"rotate_token\"}")).isEqualTo(1.0);
      double counted = samples.entrySet().stream().filter(e -> e.getKey().startsWith("relay_broker_cloud_requests_total"))
        .mapToDouble(Map.Entry::getValue).sum();
      assertThat(counted).as("every REST request the emulator logged, and no other").isEqualTo(emulator.requestLines().size());
      assertThat(samples.get("relay_broker_cloud_request_seconds_count{step=\"register\"}")).isEqualTo(3.0);
      assertThat(samples.get("relay_broker_token_rollovers_total")).isEqualTo(1.0);
      assertThat(samples.get("relay_broker_session_state{state=\"ready\"}")).isEqualTo(1.0);
      assertThat(samples.get("relay_broker_session_state{state=\"retrying\"}")).isEqualTo(0.0);
      assertThat(samples.get("relay_broker_identity_flow_seconds_count")).as("the start and the refresh").isEqualTo(2.0);
      assertThat(samples.keySet()).anyMatch(k -> k.startsWith("relay_broker_presence_state{state=\"online\"}"))
        .anyMatch(k -> k.startsWith("jvm_memory_used_bytes"));
      assertThat(scraped.bodyAsString()).doesNotContain(key).doesNotContain(broker.app().apiKey());
    }
  }

  @Test
  void inAnApplicationsVertxWithJvmMetricsOnEachJvmFamilyIsScrapedOnce() {
    String key = emulator.createWorkspace();
    Vertx application = Vertx.vertx(TestVertx.options().setMetricsOptions(new io.vertx.micrometer.MicrometerMetricsOptions()
      .setEnabled(true).setJvmMetricsEnabled(true).setPrometheusOptions(new io.vertx.micrometer.VertxPrometheusOptions().setEnabled(true))));
    try {
      dev.relaybroker.BrokerApplication broker = await(dev.relaybroker.BrokerApplication.start(application,
        Machine.options(emulator, key, "alpha", stateDir)));
      try {
        String text = await(web.get(broker.apiPort(), "127.0.0.1", "/metrics").putHeader("X-API-Key", broker.apiKey()).send()).bodyAsString();

        assertThat(text).contains("relay_broker_session_state").contains("vertx_");
        assertThat(text.lines().filter(l -> l.startsWith("# TYPE jvm_memory_used_bytes "))).hasSize(1);
      } finally {
        await(broker.stop());
      }
    } finally {
      await(application.close());
    }
  }

  /**
   * The meters are a part of the broker with its lifecycle, not a map keyed by the Vert.x: a broker stopped in an
   * application's Vert.x takes its meters out of the shared registry, and the next broker there counts its own
   * calls from zero (before, the second broker got the first one's meters and its counts went on from there).
   */
  @Test
  void aStoppedBrokerTakesItsMetersWithItAndTheNextOneInTheSameVertxCountsItsOwn() {
    String key = emulator.createWorkspace();
    Vertx application = Vertx.vertx(TestVertx.options().setMetricsOptions(new io.vertx.micrometer.MicrometerMetricsOptions()
      .setEnabled(true).setPrometheusOptions(new io.vertx.micrometer.VertxPrometheusOptions().setEnabled(true))));
    try {
      for (String name : java.util.List.of("first", "second")) {
        dev.relaybroker.BrokerApplication broker = await(dev.relaybroker.BrokerApplication.start(application,
          Machine.options(emulator, key, name, stateDir.resolve(name))));
        try {
          dev.relaybroker.support.Await.until(name + " ready", () -> broker.snapshot().status() == 200);
          Map<String, Double> samples = parse(await(web.get(broker.apiPort(), "127.0.0.1", "/metrics")
            .putHeader("X-API-Key", broker.apiKey()).send()).bodyAsString());

          assertThat(samples.get("relay_broker_cloud_requests_total{outcome=\"success\",step=\"register\"}"))
            .as("%s broker's registrations", name).isEqualTo(1.0);
          assertThat(samples.get("relay_broker_identity_flow_seconds_count")).as("%s broker's flows", name).isEqualTo(1.0);
        } finally {
          await(broker.stop());
        }
        assertThat(io.vertx.micrometer.backends.BackendRegistries.getDefaultNow().getMeters())
          .as("meters left in the application's registry after the %s broker stopped", name)
          .noneMatch(m -> m.getId().getName().startsWith("relay_broker"))
          .noneMatch(m -> m.getId().getName().startsWith("jvm."));
      }
    } finally {
      await(application.close());
    }
  }

  @Test
  void metricsCanBeTurnedOff() {
    String key = emulator.createWorkspace();
    var options = Machine.options(emulator, key, "alpha", stateDir);
    options.getMetrics().setEnabled(false);
    try (Machine broker = Machine.start(options)) {
      broker.awaitReady();

      HttpResponse<Buffer> scraped = await(web.get(broker.app().apiPort(), "127.0.0.1", "/metrics")
        .putHeader("X-API-Key", broker.app().apiKey()).send());

      assertThat(scraped.statusCode()).isEqualTo(404);
      assertThat(scraped.bodyAsJsonObject().getString("message")).contains("metrics.enabled");
    }
  }

  private static Map<String, Double> parse(String text) {
    Map<String, Double> samples = new HashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher sample = SAMPLE.matcher(line);
      assertThat(sample.matches()).as("a sample line of the text format: %s", line).isTrue();
      samples.put(sample.group(1) + (sample.group(2) == null ? "" : sample.group(2)), Double.parseDouble(sample.group(3)));
    }
    return samples;
  }
}
