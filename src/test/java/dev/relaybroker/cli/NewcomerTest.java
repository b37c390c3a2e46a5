package dev.relaybroker.cli;

import dev.relaybroker.identity.CredentialCache;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.BrokerProcesses;
import dev.relaybroker.support.CapturedLogs;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/** What a new user hits first, tried the way they would: real processes, real files, the messages they read. */
class NewcomerTest {
  @TempDir
  Path cwd;

  @RegisterExtension
  final BrokerProcesses brokers = new BrokerProcesses();
  private EmulatorDriver emulator;
  private String key;
  private WebClient web;

  @BeforeEach
  void start() {
    emulator = brokers.emulator();
    key = brokers.key();
    web = brokers.web();
  }

  private BrokerProcess run(Map<String, String> environment, String... args) {
    return brokers.start(cwd, environment, args);
  }

  private static String stderr(BrokerProcess process) {
    return BrokerProcesses.stderr(process);
  }

  // 0. A workspace key alone reaches the public cloud (here: the test's stand-in for it, on loopback).

  @Test
  void aWorkspaceKeyAloneStartsTheBrokerAgainstTheDefaultCloudInsteadOfCrashing() {
    BrokerProcess broker = run(Map.of("RELAY_API_KEY", key,
        "JAVA_TOOL_OPTIONS", "-D" + dev.relaybroker.config.CloudOptions.DEFAULT_BASE_URL_PROPERTY + "=" + emulator.baseUrl()),
      "up", "--name", "keyonly");

    Await.until("ready or exited", () -> stderr(broker).contains("Session ready") || !broker.isAlive());
    assertThat(broker.isAlive()).as(stderr(broker)).isTrue();
    assertThat(stderr(broker)).contains("Cloud " + emulator.baseUrl() + " (base URL: default")
      .contains("workspace key: the environment variable RELAY_API_KEY").doesNotContain(key);
  }

  @Test
  void configPrintsTheResolvedCloudWithItsSourcesAndStartsNothing() {
    BrokerProcess config = run(Map.of("RELAY_API_KEY", key), "config", "--name", "x");

    assertThat(config.awaitExit()).isZero();
    JsonObject printed = new JsonObject(String.join("\n", config.stdout()));
    assertThat(printed.getJsonObject("cloud").getJsonObject("baseUrl").getString("value")).isEqualTo("https://cast.agentrelay.com");
    assertThat(printed.getJsonObject("cloud").getJsonObject("baseUrl").getString("source")).startsWith("default");
    assertThat(printed.getJsonObject("cloud").getJsonObject("workspaceKey").getString("source"))
      .isEqualTo("the environment variable RELAY_API_KEY");
    assertThat(printed.getJsonObject("name").getString("source")).isEqualTo("--name");
    assertThat(String.join("\n", config.stdout()) + stderr(config)).doesNotContain(key);
    assertThat(cwd.resolve(".agentworkforce")).as("nothing started, nothing written").doesNotExist();
  }

  @Test
  void aKeyWithAnUnusableBaseUrlIsAConfigurationErrorNotACrash() {
    BrokerProcess broker = run(Map.of("RELAY_API_KEY", key, "RELAYCAST_BASE_URL", "cast.agentrelay.com"), "up", "--name", "x");

    assertThat(broker.awaitExit()).isEqualTo(2);
    assertThat(stderr(broker)).contains("config_invalid").contains("cloud.baseUrl must be an http(s) URL")
      .doesNotContain("Exception").doesNotContain(key);
  }

  @Test
  void aMalformedKeyFromTheEnvironmentNamesTheVariableButNotTheValue() {
    BrokerProcess broker = run(Map.of("RELAY_API_KEY", "at_live_notakeynotakey"), "up", "--name", "x");

    assertThat(broker.awaitExit()).isEqualTo(2);
    assertThat(stderr(broker)).contains("workspace key must start with rk_")
      .contains("given in the environment variable RELAY_API_KEY").doesNotContain("notakeynotakey");
  }

  @Test
  void anUnusableStateDirNamesItselfTheReasonAndTheWayToSetIt() throws Exception {
    Path file = Files.writeString(cwd.resolve("not-a-dir"), "x");
    Path loose = Files.createDirectories(cwd.resolve("loose"));
    Files.setPosixFilePermissions(loose, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));

    BrokerProcess onAFile = run(Map.of(), "up", "--name", "x", "--state-dir", file.resolve("state").toString());
    BrokerProcess onALooseDir = run(Map.of(), "up", "--name", "x", "--state-dir", loose.toString());

    assertThat(onAFile.awaitExit()).isEqualTo(1);
    assertThat(stderr(onAFile)).contains("cannot create the state dir " + file.resolve("state")).contains("not a directory")
      .contains("--state-dir");
    assertThat(onALooseDir.awaitExit()).as("refused like ssh refuses a loose ~/.ssh").isEqualTo(2);
    assertThat(stderr(onALooseDir)).contains(loose.toString()).contains("chmod");
  }

  // 1. A broken --config file is an error, never a silent fallback to the embedded emulator.

  @Test
  void aConfigFileWithATrailingCommaExitsTwoNamingFileLineAndProblem() throws Exception {
    Path file = cwd.resolve("c.json");
    Files.writeString(file, "{\"cloud\":{\"workspaceKey\":\"rk_live_x\",\"baseUrl\":\"http://127.0.0.1:18555\"},}");

    BrokerProcess broker = run(Map.of(), "up", "--config", file.toString());

    assertThat(broker.awaitExit()).isEqualTo(2);
    assertThat(stderr(broker)).contains("config_invalid").contains("config file " + file + " is not valid JSON: line 1, column ")
      .doesNotContain("embedded").doesNotContain("rk_live_x");
    assertThat(broker.stdout()).isEmpty();
  }

  @Test
  void aMissingADirectoryOrAYamlConfigFileIsNamedToo() throws Exception {
    Files.createDirectories(cwd.resolve("conf.d"));
    Files.writeString(cwd.resolve("c.yaml"), "cloud:\n  workspaceKey: rk_live_x\n");

    BrokerProcess missing = run(Map.of(), "up", "--config", cwd.resolve("nope.json").toString());
    BrokerProcess directory = run(Map.of(), "up", "--config", cwd.resolve("conf.d").toString());
    BrokerProcess yaml = run(Map.of(), "up", "--config", cwd.resolve("c.yaml").toString());

    assertThat(missing.awaitExit()).isEqualTo(2);
    assertThat(stderr(missing)).contains("config file " + cwd.resolve("nope.json") + " does not exist");
    assertThat(directory.awaitExit()).isEqualTo(2);
    assertThat(stderr(directory)).contains("is a directory");
    assertThat(yaml.awaitExit()).isEqualTo(2);
    assertThat(stderr(yaml)).contains("c.yaml is not valid JSON: line 1, column 7: Unrecognized token 'cloud'");
  }

  // 2. A failed ephemeral start that nobody renews does not outlive its SDK.

  @Test
  void anEphemeralBrokerWhoseKeyWasRejectedStopsItselfAfterTheGrace() throws Exception {
    Files.writeString(cwd.resolve("grace.json"), new JsonObject().put("failedGraceSecs", 2).encode());

    BrokerProcess broker = run(Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", EmulatorDriver.randomKey()),
      "init", "--name", "sdk-app", "--config", cwd.resolve("grace.json").toString());

    assertThat(broker.awaitExit()).isZero();
    assertThat(stderr(broker)).contains("workspace_key_rejected")
      .contains("no client renewed the lease within 2 s; stopping")
      .contains("it stops in 2 s unless a client renews its lease");
    assertThat(cwd.resolve(".agentworkforce/relay/connection.json")).doesNotExist();
  }

  // 3. A rejected workspace key is not a takeover.

  @Test
  void aCloudThatForgotTheWorkspaceIsAKeyRejectionNotATakeover() throws Exception {
    Path stateDir = cwd.resolve("state");
    int logMark = CapturedLogs.mark();
    try (Machine broker = Machine.start(Machine.options(emulator, key, "alpha", stateDir))) {
      broker.awaitReady();
      broker.awaitPresence("online");

      // The emulator restarted without its state file: the workspace, the key and the token are all unknown.
      emulator.admin("POST", "/_emulator/reset", null, 200);

      Await.until("failed", () -> broker.lastState().filter("failed"::equals).isPresent());
      JsonObject failed = broker.lastStateEvent();
      assertThat(failed.getString("cause")).isEqualTo("workspace_key_rejected");
      assertThat(broker.presenceStates()).noneMatch(p -> "superseded".equals(p.getString("state")));
      assertThat(broker.stateNames()).doesNotContain("superseded");
      assertThat(new JsonObject(Files.readString(stateDir.resolve(CredentialCache.FILE_NAME))).getBoolean("superseded", false))
        .as("the cache is not marked superseded").isFalse();
      assertThat(CapturedLogs.since(logMark)).noneMatch(l -> l.contains("'alpha' was taken over"));
    }
  }

  // 4. Commands.

  @Test
  void bareRelayBrokerPrintsTheUsageInsteadOfStartingABroker() {
    BrokerProcess bare = run(Map.of());

    assertThat(bare.awaitExit()).isEqualTo(2);
    assertThat(stderr(bare)).contains("no command given").contains("Usage: relay-broker").contains("  up ").contains("  init ");
    assertThat(bare.stdout()).isEmpty();
    assertThat(cwd.resolve(".agentworkforce/relay")).doesNotExist();
  }

  @Test
  void initWithoutANameIsRefusedAndTheUsageOfUpIsItsOwn() {
    BrokerProcess init = run(Map.of("RELAY_API_KEY", key), "init", "--channels", "general");
    BrokerProcess upHelp = run(Map.of(), "up", "--help");
    BrokerProcess help = run(Map.of(), "--help");

    assertThat(init.awaitExit()).isEqualTo(2);
    assertThat(stderr(init)).contains("init needs --name N (or --instance-name N)");
    assertThat(upHelp.awaitExit()).isZero();
    String up = String.join("\n", upHelp.stdout());
    assertThat(up).contains("Usage: relay-broker up").contains("--engine").contains("--channels").contains("--lease-secs")
      .contains("persist mode").doesNotContain("relay-broker init");
    assertThat(help.awaitExit()).isZero();
    assertThat(String.join("\n", help.stdout())).contains("1 could not start");
  }

  @Test
  void anUnknownFlagDoesNotHideTheOtherProblems() {
    BrokerProcess broker = run(Map.of(), "up", "--colour", "blue", "--reclaim", "maybe", "--api-bind", "0.0.0.0");

    assertThat(broker.awaitExit()).isEqualTo(2);
    assertThat(stderr(broker)).contains("3 problems").contains("unknown flag '--colour'").contains("'--reclaim': must be own, offline or always")
      .contains("0.0.0.0 is not a loopback address");
  }

  // 5. Messages.

  @Test
  void aRejectedKeyFromTheEnvironmentNamesTheVariableAndUpSaysItKeepsServing() {
    BrokerProcess broker = run(Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", EmulatorDriver.randomKey()),
      "up", "--name", "alpha");

    Await.until("said it keeps serving", () -> stderr(broker).contains("keeps running") || !broker.isAlive());
    assertThat(stderr(broker)).contains("workspace key rejected").contains("it came from the environment variable RELAY_API_KEY")
      .contains("the broker keeps running and answers every client with this cause (GET /api/session: 502)")
      .contains("stop it with Ctrl-C");
    Await.until("health says failed", () -> {
      try {
        JsonObject connection = new JsonObject(Files.readString(cwd.resolve(".agentworkforce/relay/connection.json")));
        return "failed".equals(await(web.getAbs(connection.getString("url") + "/health").send()).bodyAsJsonObject().getString("status"));
      } catch (Exception e) {
        return false;
      }
    });
    assertThat(broker.isAlive()).isTrue();
  }

  @Test
  void aPortInUseIsNamedAndComesBeforeTheEmbeddedEmulatorStarts() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      BrokerProcess broker = run(Map.of(), "up", "--name", "alpha", "--api-port", String.valueOf(taken.getLocalPort()));

      assertThat(broker.awaitExit()).isEqualTo(1);
      assertThat(stderr(broker)).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort())
        .contains("address already in use").doesNotContain("embedded Relaycast emulator");
    }
  }

  // 6. Noise.

  @Test
  void theStandaloneEmulatorSaysWhereItListensOnceAndStopsCleanlyOnSigterm() {
    BrokerProcess emulatorProcess = run(Map.of(), "emulator", "--port", "0");
    Await.until("listening", () -> !emulatorProcess.stdout().isEmpty() || !emulatorProcess.isAlive());

    emulatorProcess.terminate();

    assertThat(emulatorProcess.awaitExit()).isZero();
    assertThat(emulatorProcess.stdout()).singleElement().asString().contains("listening on http://127.0.0.1:");
    assertThat(emulatorProcess.stderr()).noneMatch(l -> l.contains("listening on"))
      .anyMatch(l -> l.contains("emulator stopping (SIGTERM)"));
  }
}
