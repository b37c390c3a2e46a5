package dev.relaybroker.config;

import dev.relaybroker.cli.BrokerCommandLine;
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
      .put("cloud", new JsonObject().put("baseUrl", "https://file.example").put("workspaceKey", "rk_live_file").put("requestTimeoutMs", 2000))
      .put("api", new JsonObject().put("port", 7000)).encode());
    JsonObject environment = new JsonObject().put("RELAY_API_KEY", "rk_live_env").put("RELAY_BASE_URL", "https://env.example")
      .put("RELAY_BROKER_API_KEY", "1234567890123456789").put("AGENT_RELAY_STATE_DIR", "/tmp/env-state");
    BrokerCommandLine cli = BrokerCommandLine.parse("up", "--name", "from-flag", "--api-port=7001");

    BrokerOptions options = await(ConfigLoader.load(vertx, file.toString(), true, env(environment), cli.flags));

    assertThat(options.getName()).isEqualTo("from-flag");
    assertThat(options.getApi().getPort()).isEqualTo(7001);
    assertThat(options.getCloud().getWorkspaceKey()).isEqualTo("rk_live_env");
    assertThat(options.getCloud().getBaseUrl()).isEqualTo("https://env.example");
    assertThat(options.getApi().getApiKey()).as("kept as a string, not parsed as a number").isEqualTo("1234567890123456789");
    assertThat(options.getStateDir()).isEqualTo("/tmp/env-state");
    assertThat(options.getReclaim()).isEqualTo(ReclaimPolicy.OWN);
    assertThat(options.getLeaseSecs()).isEqualTo(30);
    assertThat(options.getCloud().getRequestTimeoutMs()).isEqualTo(2000);
    assertThat(options.getCloud().getRetryMaxDelayMs()).isEqualTo(CloudOptions.DEFAULT_RETRY_MAX_DELAY_MS);
    assertThat(options.getMode()).isEqualTo(BrokerMode.PERSIST);
  }

  @Test
  void theRustBrokersBaseUrlVariableIsReadFirstAsUpstreamReadsIt() {
    JsonObject ours = new JsonObject().put("RELAY_BASE_URL", "http://ours.example");
    JsonObject both = ours.copy().put("RELAYCAST_BASE_URL", "http://rust.example");

    assertThat(await(ConfigLoader.load(vertx, dir.resolve("absent.json").toString(), false, env(ours), new JsonObject()))
      .getCloud().getBaseUrl()).isEqualTo("http://ours.example");
    assertThat(await(ConfigLoader.load(vertx, dir.resolve("absent.json").toString(), false, env(both), new JsonObject()))
      .getCloud().getBaseUrl()).isEqualTo("http://rust.example");
  }

  @Test
  void aWorkspaceKeyAloneGoesToThePublicCloudAndSaysWhereEachCameFrom() {
    JsonObject environment = new JsonObject().put("RELAY_API_KEY", "rk_live_abcdefabcdef");

    ResolvedConfig resolved = await(ConfigLoader.resolve(vertx, dir.resolve("absent.json").toString(), false, env(environment),
      new JsonObject(), Map.of()));

    assertThat(resolved.options().getCloud().getBaseUrl()).isEqualTo("https://cast.agentrelay.com");
    assertThat(resolved.options().isEmbeddedDefault()).isFalse();
    assertThat(resolved.sources()).containsEntry("cloud.workspaceKey", "the environment variable RELAY_API_KEY");
    assertThat(resolved.sources().get("cloud.baseUrl")).startsWith("default");
    JsonObject described = resolved.describe();
    assertThat(described.getJsonObject("cloud").getJsonObject("workspaceKey").getString("value")).isEqualTo("rk_live_****");
    assertThat(described.encode()).doesNotContain("abcdefabcdef");
    assertThat(described.getJsonObject("name").getString("source")).isEqualTo("default");
  }

  @Test
  void theKeyAndTheUrlComeTogetherFromTheHighestLayerThatSetsEither() throws Exception {
    Path file = dir.resolve("config.json");
    Files.writeString(file, new JsonObject().put("cloud", new JsonObject().put("baseUrl", "http://127.0.0.1:9")).encode());
    JsonObject environment = new JsonObject().put("RELAY_API_KEY", "rk_live_fromtheshell");

    ResolvedConfig resolved = await(ConfigLoader.resolve(vertx, file.toString(), true, env(environment), new JsonObject(), Map.of()));

    assertThat(resolved.options().getCloud().getBaseUrl()).as("the file's URL never receives the environment's key")
      .isEqualTo("https://cast.agentrelay.com");
    assertThat(resolved.ignored()).singleElement().asString().contains("cloud.baseUrl in " + file).contains("is not used")
      .contains("RELAY_API_KEY");

    BrokerCommandLine flags = BrokerCommandLine.parse("up", "--base-url", "http://127.0.0.1:7");
    ResolvedConfig fromFlags = await(ConfigLoader.resolve(vertx, file.toString(), true, env(environment), flags.flags, flags.flagNames));
    assertThat(fromFlags.options().getCloud().getBaseUrl()).isEqualTo("http://127.0.0.1:7");
    assertThat(fromFlags.options().getCloud().getWorkspaceKey()).as("the shell's key is not sent to the flag's URL").isNull();
    assertThat(fromFlags.sources()).containsEntry("cloud.baseUrl", "--base-url");
  }

  @Test
  void missingFileMeansDefaultsAndTheNewerSdkVariablesWin() {
    JsonObject environment = new JsonObject().put("RELAY_API_KEY", "rk_live_old").put("AGENT_RELAY_WORKSPACE_KEY", "rk_live_new");
    BrokerCommandLine cli = BrokerCommandLine.parse("init", "--instance-name", "app", "--channels", "general, ops", "--persist");

    BrokerOptions options = await(ConfigLoader.load(vertx, dir.resolve("absent.json").toString(), false, env(environment), cli.flags));

    assertThat(options.getCloud().getWorkspaceKey()).isEqualTo("rk_live_new");
    assertThat(options.getCloud().getBaseUrl()).as("a key alone goes to the public cloud").isEqualTo(CloudOptions.DEFAULT_BASE_URL);
    assertThat(options.getName()).isEqualTo("app");
    assertThat(options.getChannels()).containsExactly("general", "ops");
    assertThat(options.getMode()).isEqualTo(BrokerMode.PERSIST);
    assertThat(options.getReclaim()).isEqualTo(ReclaimPolicy.OFFLINE);
    assertThat(options.getApi().getBind()).isEqualTo("127.0.0.1");
  }

  @Test
  void initWithoutPersistIsEphemeralAndUpIsPersist() {
    assertThat(BrokerCommandLine.parse("init", "--name", "x").flags.getString("mode")).isEqualTo("ephemeral");
    assertThat(BrokerCommandLine.parse("up").flags.getString("mode")).isEqualTo("persist");
    assertThat(BrokerCommandLine.parse("--help").command).isEqualTo(BrokerCommandLine.Action.HELP);
    assertThat(BrokerCommandLine.parse("emulator", "--port", "9", "--engine", "legacy").emulator)
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
    BrokerCommandLine cli = BrokerCommandLine.parse("up", "--api-bind", "0.0.0.0", "--workspace-key", "at_live_secretsecretsecret",
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
    BrokerCommandLine cli = BrokerCommandLine.parse("up", "--api-bind", "0.0.0.0", "--allow-non-loopback");
    assertThat(await(ConfigLoader.build(new JsonObject(), new JsonObject(), cli.flags)).getApi().getBind()).isEqualTo("0.0.0.0");
  }

  @Test
  void commandLineProblemsAreCollected() {
    BrokerCommandLine cli = BrokerCommandLine.parse("up", "--api-port", "abc", "--bogus", "--reclaim", "maybe", "--name");
    assertThat(cli.problems).hasSize(4)
      .anyMatch(p -> p.contains("--api-port") && p.contains("needs a whole number, got 'abc'"))
      .anyMatch(p -> p.contains("unknown flag '--bogus'"))
      .anyMatch(p -> p.contains("--reclaim") && p.contains("must be own, offline or always"))
      .anyMatch(p -> p.contains("--name") && p.contains("Missing required parameter"));
    assertThat(BrokerCommandLine.parse("launch", "--name", "x").problems).singleElement().asString()
      .contains("unknown command 'launch'");
  }

  @Test
  void optionsRoundTripThroughJson() {
    // Every field of the config shape set away from its default, so a field toJson() or the JSON constructor drops
    // comes back as its default and differs.
    BrokerOptions options = new BrokerOptions().setName("n").setMode(BrokerMode.EPHEMERAL).setReclaim(ReclaimPolicy.ALWAYS)
      .setStateDir("/tmp/state").setChannels(List.of("a", "b")).setLeaseSecs(5).setFailedGraceSecs(7).setEmulatorEngine("legacy")
      .setCloud(new CloudOptions().setBaseUrl("http://x").setWorkspaceKey("rk_test_k").setRequestTimeoutMs(1234)
        .setConnectTimeoutMs(2345).setRetryInitialDelayMs(11).setRetryMaxDelayMs(22).setRetryMaxAttempts(3)
        .setMaxResponseBytes(4096).setAllowInsecureHttp(true))
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

  /** The known keys are read off the generated converters: every key of the shipped file, nothing hand-listed. */
  @Test
  void theKnownKeysAreTheOptionsClassesPropertiesAndAWrongTypeOrAnUnknownKeyIsReportedWithItsPath() throws Exception {
    JsonObject shipped = new JsonObject(Files.readString(Path.of("conf/config.json")));
    java.util.List<String> shippedPaths = new java.util.ArrayList<>();
    shipped.forEach(entry -> {
      if (entry.getValue() instanceof JsonObject section) {
        section.fieldNames().forEach(key -> shippedPaths.add(entry.getKey() + "." + key));
      } else if (!entry.getKey().equals("_comment")) {
        shippedPaths.add(entry.getKey());
      }
    });
    assertThat(ConfigSchema.paths()).containsAll(shippedPaths).contains("cloud.allowInsecureHttp")
      .doesNotContain("busName", "clientSpawned", "embeddedEmulator", "embeddedDefault", "cloud.workspaceKeySource", "api.loopbackBind");

    java.util.List<String> problems = new java.util.ArrayList<>();
    ConfigSchema.check(new JsonObject().put("presence", new JsonObject().put("pingIntervalMs", "often").put("pingEveryMs", 5))
      .put("mode", "forever"), problems);
    assertThat(problems).containsExactlyInAnyOrder("config key 'presence.pingIntervalMs' must be integer",
      "unknown config key 'presence.pingEveryMs' (known: enabled, pingIntervalMs, reconnectInitialDelayMs, reconnectMaxDelayMs, connectTimeoutMs)",
      "mode must be one of ephemeral, persist, got 'forever'");
  }

  @Test
  void shippedConfigFileIsValidAndHoldsTheDefaults() {
    BrokerOptions options = await(ConfigLoader.load(vertx, "conf/config.json", false, env(new JsonObject()), new JsonObject()));
    assertThat(options.toJson()).isEqualTo(new BrokerOptions().toJson());
  }
}
