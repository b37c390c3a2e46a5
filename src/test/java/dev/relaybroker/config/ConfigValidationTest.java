package dev.relaybroker.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Validation of typed options and of the raw config shape (pure: no Vert.x instance, no files): each limit is
 * accepted exactly at its edge and refused one step past it, with a message naming the key and the value.
 */
class ConfigValidationTest {
  private static List<String> problems(Consumer<BrokerOptions> change) {
    BrokerOptions options = new BrokerOptions();
    change.accept(options);
    return options.validate();
  }

  @Test
  void theDefaultsAreValid() {
    assertThat(new BrokerOptions().validate()).isEmpty();
    assertThat(new BrokerOptions(new JsonObject()).validate()).isEmpty();
  }

  @Test
  void brokerLimits() {
    assertThat(problems(o -> o.setName("n".repeat(128)))).isEmpty();
    assertThat(problems(o -> o.setName("n".repeat(129)))).containsExactly("agent name must be at most 128 characters");
    assertThat(problems(o -> o.setName("a\u0007b"))).containsExactly("agent name must not contain control characters");
    assertThat(problems(o -> o.setName("a b/é"))).isEmpty();
    assertThat(problems(o -> o.setFailedGraceSecs(1).setLeaseSecs(1))).isEmpty();
    assertThat(problems(o -> o.setFailedGraceSecs(0))).containsExactly("failedGraceSecs must be at least 1, got 0");
    assertThat(problems(o -> o.setLeaseSecs(0))).containsExactly("leaseSecs must be at least 1, got 0");
    assertThat(problems(o -> o.setEmulatorEngine("legacy"))).isEmpty();
    assertThat(problems(o -> o.setEmulatorEngine("future"))).containsExactly("emulatorEngine must be legacy or current, got 'future'");
    assertThat(problems(o -> o.setBusName("team-a_1"))).isEmpty();
    assertThat(problems(o -> o.setBusName("Bad Name"))).singleElement().asString().startsWith("busName must be");
  }

  @Test
  void everyProblemIsReportedAtOnceAcrossSections() {
    List<String> all = problems(o -> {
      o.setLeaseSecs(0);
      o.getCloud().setRetryMaxAttempts(0);
      o.getApi().setPort(-1);
      o.getPresence().setPingIntervalMs(1);
    });
    assertThat(all).containsExactly("leaseSecs must be at least 1, got 0", "cloud.retryMaxAttempts must be at least 1, got 0",
      "api.port must be 0..65535, got -1", "presence.pingIntervalMs must be at least 10, got 1");
  }

  @Test
  void cloudLimits() {
    assertThat(problems(o -> o.getCloud().setBaseUrl("https://api.relaycast.dev").setWorkspaceKey("rk_live_x"))).isEmpty();
    assertThat(problems(o -> o.getCloud().setBaseUrl("http://127.0.0.1:8080/"))).isEmpty();
    assertThat(problems(o -> o.getCloud().setBaseUrl("ftp://x"))).singleElement().asString()
      .isEqualTo("cloud.baseUrl must be an http(s) URL such as https://api.relaycast.dev, got 'ftp://x'");
    assertThat(problems(o -> o.getCloud().setBaseUrl("https:///path"))).singleElement().asString().startsWith("cloud.baseUrl must be");
    assertThat(problems(o -> o.getCloud().setBaseUrl("api.relaycast.dev"))).singleElement().asString().startsWith("cloud.baseUrl must be");
    assertThat(problems(o -> o.getCloud().setBaseUrl("http://bad host"))).containsExactly("cloud.baseUrl is not a URL: 'http://bad host'");
    List<String> badKey = problems(o -> o.getCloud().setWorkspaceKey("sk_live_secret"));
    assertThat(badKey).containsExactly("workspace key must start with rk_ (rk_live_… or rk_test_…); the value given in cloud.workspaceKey does not");
    assertThat(String.join(" ", badKey)).doesNotContain("sk_live_secret");
    assertThat(problems(o -> o.getCloud().setRequestTimeoutMs(100).setConnectTimeoutMs(100))).isEmpty();
    assertThat(problems(o -> o.getCloud().setRequestTimeoutMs(99))).containsExactly("cloud.requestTimeoutMs must be at least 100, got 99");
    assertThat(problems(o -> o.getCloud().setConnectTimeoutMs(99))).containsExactly("cloud.connectTimeoutMs must be at least 100, got 99");
    assertThat(problems(o -> o.getCloud().setRetryInitialDelayMs(1).setRetryMaxDelayMs(1).setRetryMaxAttempts(1))).isEmpty();
    assertThat(problems(o -> o.getCloud().setRetryInitialDelayMs(0).setRetryMaxDelayMs(0)))
      .containsExactly("cloud.retryInitialDelayMs must be at least 1, got 0");
    assertThat(problems(o -> o.getCloud().setRetryInitialDelayMs(50).setRetryMaxDelayMs(49)))
      .containsExactly("cloud.retryMaxDelayMs must be at least cloud.retryInitialDelayMs, got 49");
    assertThat(problems(o -> o.getCloud().setRetryMaxAttempts(0))).containsExactly("cloud.retryMaxAttempts must be at least 1, got 0");
  }

  @Test
  void apiLimits() {
    assertThat(problems(o -> o.getApi().setPort(0))).isEmpty();
    assertThat(problems(o -> o.getApi().setPort(65535))).isEmpty();
    assertThat(problems(o -> o.getApi().setPort(65536))).containsExactly("api.port must be 0..65535, got 65536");
    assertThat(problems(o -> o.getApi().setPort(-1))).containsExactly("api.port must be 0..65535, got -1");
    assertThat(problems(o -> o.getApi().setBind(null))).containsExactly("api.bind must be a host address such as 127.0.0.1");
    assertThat(problems(o -> o.getApi().setBind(" "))).containsExactly("api.bind must be a host address such as 127.0.0.1");
    for (String loopback : List.of("localhost", "::1", "[::1]", "127.0.0.1", "127.1.2.3")) {
      assertThat(problems(o -> o.getApi().setBind(loopback))).as(loopback).isEmpty();
    }
    assertThat(problems(o -> o.getApi().setBind("0.0.0.0"))).singleElement().asString()
      .startsWith("api.bind 0.0.0.0 is not a loopback address").endsWith("unless you also pass --allow-non-loopback");
    assertThat(problems(o -> o.getApi().setBind("0.0.0.0").setAllowNonLoopback(true))).isEmpty();
    assertThat(problems(o -> o.getApi().setApiKey("k".repeat(16)))).isEmpty();
    assertThat(problems(o -> o.getApi().setApiKey("k".repeat(15))))
      .containsExactly("the broker API key (RELAY_BROKER_API_KEY) must be at least 16 characters");
    assertThat(problems(o -> o.getApi().setMaxBodyBytes(1024).setIdleTimeoutSecs(1).setHeaderTimeoutSecs(1))).isEmpty();
    assertThat(problems(o -> o.getApi().setMaxBodyBytes(1023))).containsExactly("api.maxBodyBytes must be at least 1024, got 1023");
    assertThat(problems(o -> o.getApi().setIdleTimeoutSecs(0))).containsExactly("api.idleTimeoutSecs must be at least 1, got 0");
    assertThat(problems(o -> o.getApi().setHeaderTimeoutSecs(0))).containsExactly("api.headerTimeoutSecs must be at least 1, got 0");
    assertThat(problems(o -> o.getApi().setSessionWaitMs(0))).isEmpty();
    assertThat(problems(o -> o.getApi().setSessionWaitMs(60_000))).isEmpty();
    assertThat(problems(o -> o.getApi().setSessionWaitMs(-1))).containsExactly("api.sessionWaitMs must be 0..60000, got -1");
    assertThat(problems(o -> o.getApi().setSessionWaitMs(60_001))).containsExactly("api.sessionWaitMs must be 0..60000, got 60001");
    assertThat(problems(o -> o.getApi().setEventBufferSize(1))).isEmpty();
    assertThat(problems(o -> o.getApi().setEventBufferSize(100_000))).isEmpty();
    assertThat(problems(o -> o.getApi().setEventBufferSize(0))).containsExactly("api.eventBufferSize must be 1..100000, got 0");
    assertThat(problems(o -> o.getApi().setEventBufferSize(100_001))).containsExactly("api.eventBufferSize must be 1..100000, got 100001");
  }

  @Test
  void presenceLimits() {
    assertThat(problems(o -> o.getPresence().setPingIntervalMs(10).setConnectTimeoutMs(100))).isEmpty();
    assertThat(problems(o -> o.getPresence().setPingIntervalMs(9))).containsExactly("presence.pingIntervalMs must be at least 10, got 9");
    assertThat(problems(o -> o.getPresence().setConnectTimeoutMs(99))).containsExactly("presence.connectTimeoutMs must be at least 100, got 99");
    assertThat(problems(o -> o.getPresence().setReconnectInitialDelayMs(1).setReconnectMaxDelayMs(1))).isEmpty();
    String reconnect = "presence.reconnectInitialDelayMs must be at least 1 and at most presence.reconnectMaxDelayMs";
    assertThat(problems(o -> o.getPresence().setReconnectInitialDelayMs(0).setReconnectMaxDelayMs(0))).containsExactly(reconnect);
    assertThat(problems(o -> o.getPresence().setReconnectInitialDelayMs(5).setReconnectMaxDelayMs(4))).containsExactly(reconnect);
  }

  @Test
  void theEmbeddedEmulatorIsTheDefaultOnlyWhenAskedForAndNoCloudIsNamed() {
    assertThat(new BrokerOptions().isEmbeddedDefault()).isFalse();
    assertThat(new BrokerOptions().setEmbeddedEmulator(true).isEmbeddedDefault()).isTrue();
    BrokerOptions withKey = new BrokerOptions().setEmbeddedEmulator(true);
    withKey.getCloud().setWorkspaceKey("rk_test_x");
    assertThat(withKey.isEmbeddedDefault()).isFalse();
    BrokerOptions withUrl = new BrokerOptions().setEmbeddedEmulator(true);
    withUrl.getCloud().setBaseUrl("http://x");
    assertThat(withUrl.isEmbeddedDefault()).isFalse();
  }

  /** A config naming every key of the shape, each away from its default. */
  private static JsonObject everyKey() {
    return new JsonObject().put("name", " n ").put("mode", "Ephemeral").put("reclaim", "always").put("stateDir", " ")
      .put("channels", new JsonArray().add("a")).put("leaseSecs", 5).put("failedGraceSecs", 7).put("emulatorEngine", "legacy")
      .put("cloud", new JsonObject().put("baseUrl", "http://x").put("workspaceKey", "rk_test_k").put("requestTimeoutMs", 1234)
        .put("connectTimeoutMs", 2345).put("retryInitialDelayMs", 11).put("retryMaxDelayMs", 22).put("retryMaxAttempts", 3))
      .put("api", new JsonObject().put("enabled", false).put("bind", "127.0.0.2").put("port", 9).put("allowNonLoopback", true)
        .put("apiKey", "0123456789abcdef0").put("unixSocket", false).put("maxBodyBytes", 2048).put("idleTimeoutSecs", 4)
        .put("eventBufferSize", 7).put("headerTimeoutSecs", 3).put("sessionWaitMs", 99))
      .put("presence", new JsonObject().put("enabled", false).put("pingIntervalMs", 111).put("reconnectInitialDelayMs", 12)
        .put("reconnectMaxDelayMs", 34).put("connectTimeoutMs", 567))
      .put("metrics", new JsonObject().put("enabled", false));
  }

  @Test
  void theSchemaAcceptsAConfigNamingEveryKey() {
    List<String> problems = new ArrayList<>();
    JsonObject clean = ConfigSchema.check(everyKey(), problems);
    assertThat(problems).isEmpty();
    assertThat(clean).isEqualTo(everyKey());
    assertThat(ConfigSchema.check(new JsonObject().put("reclaim", "sometimes"), problems).containsKey("reclaim")).isFalse();
    assertThat(problems).containsExactly("reclaim must be one of always, offline, own, got 'sometimes'");
  }

  @Test
  void theSwitchesReadBackAsSetAndTheStateDirAndBusAreResolved() {
    BrokerOptions options = new BrokerOptions().setClientSpawned(true).setEmbeddedEmulator(true).setStateDir("/tmp/a/../b");
    options.getApi().setEnabled(false).setUnixSocket(false).setAllowNonLoopback(true);
    options.getPresence().setEnabled(false);
    assertThat(options.isClientSpawned()).isTrue();
    assertThat(options.isEmbeddedEmulator()).isTrue();
    assertThat(options.getApi().isEnabled()).isFalse();
    assertThat(options.getApi().isUnixSocket()).isFalse();
    assertThat(options.getApi().isAllowNonLoopback()).isTrue();
    assertThat(options.getPresence().isEnabled()).isFalse();
    BrokerOptions defaults = new BrokerOptions();
    assertThat(defaults.isClientSpawned()).isFalse();
    assertThat(defaults.isEmbeddedEmulator()).isFalse();
    assertThat(defaults.getApi().isEnabled()).isTrue();
    assertThat(defaults.getApi().isUnixSocket()).isTrue();
    assertThat(defaults.getApi().isAllowNonLoopback()).isFalse();
    assertThat(defaults.getPresence().isEnabled()).isTrue();
    assertThat(options.resolvedStateDir()).isEqualTo(java.nio.file.Path.of("/tmp/b"));
    assertThat(defaults.resolvedStateDir())
      .isEqualTo(java.nio.file.Path.of(System.getProperty("user.dir"), ".agentworkforce/relay").toAbsolutePath().normalize());
    assertThat(defaults.bus().sessionGet()).isEqualTo(dev.relaybroker.bus.Addresses.SESSION_GET);
    assertThat(options.setBusName("team").bus().sessionGet()).isEqualTo(dev.relaybroker.bus.Addresses.SESSION_GET + ".team");
  }

  @Test
  void theJsonShapeReadsBackEveryFieldAndFillsDefaults() {
    JsonObject json = everyKey();
    JsonObject expected = json.copy().put("name", "n").put("mode", "ephemeral").putNull("stateDir"); // blank: unset
    JsonObject readBack = new BrokerOptions(json).toJson();
    // Every key given comes back with its value (the generated converter leaves unset ones out, adds none of its own).
    Map<String, Object> given = flatten("", expected);
    Map<String, Object> got = flatten("", readBack);
    given.forEach((path, value) -> assertThat(got).as(path).containsEntry(path, value));
    assertThat(new BrokerOptions(readBack).toJson()).as("a second round trip changes nothing").isEqualTo(readBack);

    JsonObject defaults = new BrokerOptions(new JsonObject()).toJson();
    assertThat(defaults).isEqualTo(new BrokerOptions().toJson());
    assertThat(defaults.getString("mode")).isEqualTo("persist");
    assertThat(defaults.getString("reclaim")).isEqualTo("offline");
    assertThat(defaults.getJsonArray("channels")).containsExactly("general");
    assertThat(defaults.getLong("leaseSecs")).as("12.4.1's owner lease").isEqualTo(120L);
    assertThat(defaults.getJsonObject("cloud").getLong("requestTimeoutMs")).isEqualTo(10_000L);
    assertThat(defaults.getJsonObject("api").getString("bind")).isEqualTo("127.0.0.1");
    assertThat(defaults.getJsonObject("api").getBoolean("enabled")).isTrue();
    assertThat(defaults.getJsonObject("api").getBoolean("unixSocket")).isTrue();
    assertThat(defaults.getJsonObject("presence").getBoolean("enabled")).isTrue();
    assertThat(defaults.getJsonObject("metrics").getBoolean("enabled")).isTrue();

    CloudOptions cloud = new CloudOptions(new JsonObject().put("workspaceKey", "rk_test_k")).setWorkspaceKeySource("RELAY_API_KEY");
    CloudOptions copy = new CloudOptions(cloud);
    assertThat(copy.toJson()).isEqualTo(cloud.toJson());
    assertThat(copy.getWorkspaceKeySource()).isEqualTo("RELAY_API_KEY");
  }

  @Test
  void theSchemaReportsUnknownKeysAndWrongTypesTogetherAndDropsThem() {
    List<String> problems = new ArrayList<>();
    JsonObject raw = new JsonObject().put("name", "n").put("nmae", "typo").put("_comment", "ok").put("$comment", "ok")
      .put("leaseSecs", "600").put("channels", new JsonArray().add("a").add(5))
      .put("cloud", new JsonObject().put("baseUrl", 5).put("requestTimeoutMs", 1500.0).put("retryMaxAttempts", 2.5))
      .put("api", new JsonObject().put("port", true).put("portt", 1))
      .put("presence", new JsonObject().put("enabled", "yes"))
      .put("metrics", new JsonObject().put("enabled", 1))
      .put("mode", "sometimes").put("reclaim", " Always ");

    JsonObject clean = ConfigSchema.check(raw, problems);

    assertThat(problems.stream().map(p -> p.replaceAll(" \\(known: .*\\)$", ""))).containsExactlyInAnyOrder(
      "unknown config key 'nmae'",
      "unknown config key 'api.portt'",
      "config key 'leaseSecs' must be integer",
      "config key 'channels' must be string array",
      "config key 'cloud.baseUrl' must be string",
      "config key 'cloud.retryMaxAttempts' must be integer",
      "config key 'api.port' must be integer",
      "config key 'presence.enabled' must be boolean",
      "config key 'metrics.enabled' must be boolean",
      "mode must be one of ephemeral, persist, got 'sometimes'");
    assertThat(problems).filteredOn(p -> p.startsWith("unknown config key 'nmae'")).singleElement().asString()
      .contains("name").contains("leaseSecs").contains("metrics").doesNotContain("portt");
    assertThat(problems).filteredOn(p -> p.startsWith("unknown config key 'api.portt'")).singleElement().asString()
      .contains("(known: ").contains("sessionWaitMs").doesNotContain("leaseSecs");
    // Comment keys are dropped without a word; everything reported is dropped too, so what is left can be validated.
    assertThat(clean.fieldNames()).containsExactlyInAnyOrder("name", "cloud", "api", "presence", "metrics", "reclaim");
    assertThat(clean.getJsonObject("cloud").fieldNames()).containsExactly("requestTimeoutMs");
    assertThat(clean.getJsonObject("api").fieldNames()).isEmpty();
    assertThat(raw.getString("nmae")).as("the input is not changed").isEqualTo("typo");
  }

  private static Map<String, Object> flatten(String prefix, JsonObject json) {
    Map<String, Object> flat = new java.util.TreeMap<>();
    json.forEach(entry -> {
      if (entry.getValue() instanceof JsonObject nested) {
        flat.putAll(flatten(prefix + entry.getKey() + ".", nested));
      } else if (entry.getValue() != null) {
        flat.put(prefix + entry.getKey(), entry.getValue() instanceof Number n ? (Object) n.longValue() : entry.getValue());
      }
    });
    return flat;
  }

  @Test
  void aKeyGoesOverPlainHttpOnlyToThisMachineUnlessAllowed() {
    String insecure = "is plain http:// to a host other than this machine";
    assertThat(problems(o -> o.getCloud().setBaseUrl("http://relay.invalid").setWorkspaceKey("rk_live_x")))
      .singleElement().asString().contains(insecure).contains("--allow-insecure-cloud");
    assertThat(problems(o -> o.getCloud().setBaseUrl("http://relay.invalid").setWorkspaceKey("rk_live_x").setAllowInsecureHttp(true)))
      .isEmpty();
    assertThat(problems(o -> o.getCloud().setBaseUrl("http://relay.invalid"))).as("no key, nothing to leak").isEmpty();
    assertThat(problems(o -> o.getCloud().setBaseUrl("http://127.0.0.1:9").setWorkspaceKey("rk_live_x"))).isEmpty();
    assertThat(problems(o -> o.getCloud().setBaseUrl("https://relay.invalid").setWorkspaceKey("rk_live_x"))).isEmpty();
    assertThat(new CloudOptions().setAllowInsecureHttp(true).isAllowInsecureHttp()).isTrue();
    assertThat(new CloudOptions().isAllowInsecureHttp()).isFalse();
  }

  @Test
  void theEffectiveBaseUrlIsTheOneSetElseThePublicCloudForAKeyElseNone() {
    assertThat(new CloudOptions().effectiveBaseUrl()).isNull();
    assertThat(new CloudOptions().setWorkspaceKey("rk_live_x").effectiveBaseUrl()).isEqualTo(CloudOptions.DEFAULT_BASE_URL);
    assertThat(new CloudOptions().setWorkspaceKey("rk_live_x").setBaseUrl("http://127.0.0.1:9").effectiveBaseUrl())
      .isEqualTo("http://127.0.0.1:9");
    assertThat(new CloudOptions().setBaseUrl("http://127.0.0.1:9").effectiveBaseUrl()).isEqualTo("http://127.0.0.1:9");
    assertThat(CloudOptions.defaultBaseUrl()).isEqualTo("https://cast.agentrelay.com");
  }

  @Test
  void aLoopbackBindIsTold() {
    assertThat(new LocalApiOptions().setBind("127.0.0.1").isLoopbackBind()).isTrue();
    assertThat(new LocalApiOptions().setBind("::1").isLoopbackBind()).isTrue();
    assertThat(new LocalApiOptions().setBind("0.0.0.0").isLoopbackBind()).isFalse();
  }

  @Test
  void thePathsAreEveryLeafKeyNeverASection() {
    assertThat(ConfigSchema.paths()).contains("name", "cloud.baseUrl", "cloud.maxResponseBytes", "api.port", "presence.enabled",
      "metrics.enabled").doesNotContain("cloud", "api").doesNotHaveDuplicates();
  }
}
