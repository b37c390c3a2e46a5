package dev.relaybroker.config;

import dev.relaybroker.cli.CommandLine;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.relaybroker.support.Await.await;
import static dev.relaybroker.support.Await.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

/** Flags > environment > conf/config.json > defaults, and every problem reported in one go. */
class ConfigLoaderTest {
  private final Vertx vertx = Vertx.vertx();

  @TempDir
  Path dir;

  @AfterEach
  void close() {
    await(vertx.close());
  }

  private static ConfigStoreOptions env(JsonObject variables) {
    return new ConfigStoreOptions().setType("json").setConfig(variables);
  }

  @Test
  void flagsBeatEnvironmentWhichBeatsTheFileWhichBeatsDefaults() throws Exception {
    Path file = dir.resolve("config.json");
    Files.writeString(file, new JsonObject()
      .put("name", "from-file").put("reclaim", "own").put("leaseSecs", 30)
      .put("cloud", new JsonObject().put("baseUrl", "http://file.example").put("workspaceKey", "rk_live_file").put("requestTimeoutMs", 2000))
      .put("api", new JsonObject().put("port", 7000)).encode());
    JsonObject environment = new JsonObject().put("RELAY_API_KEY", "rk_live_env").put("RELAY_BASE_URL", "http://env.example")
      .put("RELAY_BROKER_API_KEY", "1234567890123456789").put("AGENT_RELAY_STATE_DIR", "/tmp/env-state");
    CommandLine cli = CommandLine.parse("up", "--name", "from-flag", "--api-port=7001");

    BrokerOptions options = await(ConfigLoader.load(vertx, file.toString(), true, env(environment), cli.flags));

    assertThat(options.getName()).isEqualTo("from-flag");
    assertThat(options.getApi().getPort()).isEqualTo(7001);
    assertThat(options.getCloud().getWorkspaceKey()).isEqualTo("rk_live_env");
    assertThat(options.getCloud().getBaseUrl()).isEqualTo("http://env.example");
    assertThat(options.getApi().getApiKey()).as("kept as a string, not parsed as a number").isEqualTo("1234567890123456789");
    assertThat(options.getStateDir()).isEqualTo("/tmp/env-state");
    assertThat(options.getReclaim()).isEqualTo(ReclaimPolicy.OWN);
    assertThat(options.getLeaseSecs()).isEqualTo(30);
    assertThat(options.getCloud().getRequestTimeoutMs()).isEqualTo(2000);
    assertThat(options.getCloud().getRetryMaxDelayMs()).isEqualTo(CloudOptions.DEFAULT_RETRY_MAX_DELAY_MS);
    assertThat(options.getMode()).isEqualTo(BrokerMode.PERSIST);
  }

  @Test
  void theRustBrokersBaseUrlVariableWorksAndOursWinsWhenBothAreSet() {
    JsonObject rustOnly = new JsonObject().put("RELAYCAST_BASE_URL", "http://rust.example");
    JsonObject both = rustOnly.copy().put("RELAY_BASE_URL", "http://ours.example");

    assertThat(await(ConfigLoader.load(vertx, dir.resolve("absent.json").toString(), false, env(rustOnly), new JsonObject()))
      .getCloud().getBaseUrl()).isEqualTo("http://rust.example");
    assertThat(await(ConfigLoader.load(vertx, dir.resolve("absent.json").toString(), false, env(both), new JsonObject()))
      .getCloud().getBaseUrl()).isEqualTo("http://ours.example");
  }

  @Test
  void missingFileMeansDefaultsAndTheNewerSdkVariablesWin() {
    JsonObject environment = new JsonObject().put("RELAY_API_KEY", "rk_live_old").put("AGENT_RELAY_WORKSPACE_KEY", "rk_live_new");
    CommandLine cli = CommandLine.parse("init", "--instance-name", "app", "--channels", "general, ops", "--persist");

    BrokerOptions options = await(ConfigLoader.load(vertx, dir.resolve("absent.json").toString(), false, env(environment), cli.flags));

    assertThat(options.getCloud().getWorkspaceKey()).isEqualTo("rk_live_new");
    assertThat(options.getCloud().getBaseUrl()).as("no base URL in this environment").isNull();
    assertThat(options.getName()).isEqualTo("app");
    assertThat(options.getChannels()).containsExactly("general", "ops");
    assertThat(options.getMode()).isEqualTo(BrokerMode.PERSIST);
    assertThat(options.getReclaim()).isEqualTo(ReclaimPolicy.OFFLINE);
    assertThat(options.getApi().getBind()).isEqualTo("127.0.0.1");
  }

  @Test
  void initWithoutPersistIsEphemeralAndUpIsPersist() {
    assertThat(CommandLine.parse("init", "--name", "x").flags.getString("mode")).isEqualTo("ephemeral");
    assertThat(CommandLine.parse("up").flags.getString("mode")).isEqualTo("persist");
    assertThat(CommandLine.parse("--help").command).isEqualTo(CommandLine.Command.HELP);
    assertThat(CommandLine.parse("emulator", "--port", "9", "--engine", "legacy").emulator)
      .isEqualTo(new JsonObject().put("port", 9).put("engine", "legacy"));
  }

  @Test
  void everyProblemIsReportedAtOnce() throws Exception {
    Path file = dir.resolve("config.json");
    Files.writeString(file, new JsonObject().put("reclaim", "sometimes").put("leaseSecs", "ten").put("colour", "blue")
      .put("cloud", new JsonObject().put("baseUrl", "ftp://nope").put("requestTimeoutMs", 5)).encode());

    Throwable failure = awaitFailure(ConfigLoader.load(vertx, file.toString(), true, env(new JsonObject()), new JsonObject()));

    assertThat(failure).isInstanceOf(ConfigInvalidException.class);
    assertThat(((ConfigInvalidException) failure).problems()).hasSize(5)
      .anyMatch(p -> p.contains("reclaim"))
      .anyMatch(p -> p.contains("leaseSecs"))
      .anyMatch(p -> p.contains("colour"))
      .anyMatch(p -> p.contains("ftp://nope"))
      .anyMatch(p -> p.contains("requestTimeoutMs"));
  }

  @Test
  void valueProblemsAreAllListedAndNeverEchoAKey() {
    CommandLine cli = CommandLine.parse("up", "--api-bind", "0.0.0.0", "--workspace-key", "at_live_secretsecretsecret",
      "--base-url", "not a url", "--api-port", "70000");

    Throwable failure = awaitFailure(ConfigLoader.build(new JsonObject(), new JsonObject(), cli.flags));

    assertThat(((ConfigInvalidException) failure).problems()).hasSize(4)
      .anyMatch(p -> p.contains("0.0.0.0") && p.contains("--allow-non-loopback"))
      .anyMatch(p -> p.contains("must start with rk_"))
      .anyMatch(p -> p.contains("baseUrl"))
      .anyMatch(p -> p.contains("api.port"))
      .noneMatch(p -> p.contains("secretsecret"));
  }

  @Test
  void nonLoopbackBindIsAllowedOnlyWhenToldExplicitly() {
    CommandLine cli = CommandLine.parse("up", "--api-bind", "0.0.0.0", "--allow-non-loopback");
    assertThat(await(ConfigLoader.build(new JsonObject(), new JsonObject(), cli.flags)).getApi().getBind()).isEqualTo("0.0.0.0");
  }

  @Test
  void commandLineProblemsAreCollected() {
    CommandLine cli = CommandLine.parse("launch", "--api-port", "abc", "--bogus", "--name");
    assertThat(cli.problems).hasSize(4)
      .anyMatch(p -> p.contains("unknown command 'launch'"))
      .anyMatch(p -> p.contains("--api-port needs a whole number"))
      .anyMatch(p -> p.contains("unknown flag '--bogus'"))
      .anyMatch(p -> p.contains("--name needs a value"));
  }

  @Test
  void optionsRoundTripThroughJson() {
    // Every field of the config shape set away from its default, so a field toJson() or the JSON constructor drops
    // comes back as its default and differs.
    BrokerOptions options = new BrokerOptions().setName("n").setMode(BrokerMode.EPHEMERAL).setReclaim(ReclaimPolicy.ALWAYS)
      .setStateDir("/tmp/state").setChannels(List.of("a", "b")).setLeaseSecs(5).setFailedGraceSecs(7).setEmulatorEngine("legacy")
      .setCloud(new CloudOptions().setBaseUrl("http://x").setWorkspaceKey("rk_test_k").setRequestTimeoutMs(1234)
        .setConnectTimeoutMs(2345).setRetryInitialDelayMs(11).setRetryMaxDelayMs(22).setRetryMaxAttempts(3))
      .setApi(new LocalApiOptions().setEnabled(false).setBind("127.0.0.2").setPort(9).setAllowNonLoopback(true)
        .setApiKey("0123456789abcdef0").setUnixSocket(false).setMaxBodyBytes(2048).setIdleTimeoutSecs(4)
        .setEventBufferSize(7).setHeaderTimeoutSecs(3).setSessionWaitMs(99))
      .setPresence(new PresenceOptions().setEnabled(false).setPingIntervalMs(111).setReconnectInitialDelayMs(12)
        .setReconnectMaxDelayMs(34).setConnectTimeoutMs(567))
      .setMetrics(new MetricsOptions().setEnabled(false));
    Map<String, Object> defaults = leaves("", new BrokerOptions().toJson());
    assertThat(leaves("", options.toJson())).as("fields still at their default: set them above")
      .allSatisfy((field, value) -> assertThat(value).as(field).isNotEqualTo(defaults.get(field)));

    BrokerOptions copy = new BrokerOptions(options.toJson());

    // Not part of the config shape (set from the command line or by an embedding application): not in the JSON.
    assertThat(copy).usingRecursiveComparison()
      .ignoringFields("busName", "clientSpawned", "embeddedEmulator", "cloud.workspaceKeySource")
      .isEqualTo(options);
  }

  private static Map<String, Object> leaves(String prefix, JsonObject json) {
    Map<String, Object> leaves = new TreeMap<>();
    json.forEach(e -> {
      if (e.getValue() instanceof JsonObject nested) {
        leaves.putAll(leaves(prefix + e.getKey() + ".", nested));
      } else {
        leaves.put(prefix + e.getKey(), e.getValue());
      }
    });
    return leaves;
  }

  @Test
  void shippedConfigFileIsValidAndHoldsTheDefaults() {
    BrokerOptions options = await(ConfigLoader.load(vertx, "conf/config.json", false, env(new JsonObject()), new JsonObject()));
    assertThat(options.toJson()).isEqualTo(new BrokerOptions().toJson());
  }
}
