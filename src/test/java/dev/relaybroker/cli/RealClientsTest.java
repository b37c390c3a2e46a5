package dev.relaybroker.cli;

import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.EmulatorDriver;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The current published client line, {@code @agent-relay/harness-driver@9.1.6}, drives our launcher for real. The
 * suite installs it with npm into {@code target/npm-clients}; npm not reaching its registry is a failure, not a skip.
 */
class RealClientsTest {
  static final Path MODULES_ROOT = Path.of("target", "npm-clients").toAbsolutePath();
  static final String HARNESS_DRIVER = "@agent-relay/harness-driver@9.1.6";

  @TempDir
  Path tmp;

  private EmulatorDriver emulator;
  private String key;

  @BeforeAll
  static void installTheClients() throws Exception {
    if (Files.exists(MODULES_ROOT.resolve("node_modules/@agent-relay/harness-driver/package.json"))) {
      return;
    }
    Files.createDirectories(MODULES_ROOT);
    Process npm = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--prefix", MODULES_ROOT.toString(), HARNESS_DRIVER)
      .redirectErrorStream(true).start();
    String output = new String(npm.getInputStream().readAllBytes());
    if (!npm.waitFor(240, TimeUnit.SECONDS) || npm.exitValue() != 0) {
      throw new AssertionError("npm could not install " + HARNESS_DRIVER + " (the real client these tests drive); "
        + "npm said:\n" + output);
    }
  }

  @BeforeEach
  void start() {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    key = emulator.createWorkspace();
  }

  @AfterEach
  void stop() {
    emulator.close();
  }

  private JsonObject drive(Path cwd, String mode, Map<String, String> environment) throws IOException, InterruptedException {
    Path launcher = BrokerProcess.writeLauncher(tmp);
    Path script = Path.of("src/test/resources/sdk/harness-driver.mjs").toAbsolutePath();
    ProcessBuilder builder = new ProcessBuilder("node", script.toString(), MODULES_ROOT.resolve("node_modules").toString(),
      launcher.toString(), cwd.toString(), mode).directory(cwd.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("AGENT_RELAY_"));
    builder.environment().put("RELAY_BASE_URL", emulator.baseUrl());
    builder.environment().put("RELAY_API_KEY", key);
    builder.environment().putAll(environment);
    Process node = builder.start();
    String output = new String(node.getInputStream().readAllBytes()).trim();
    assertThat(node.waitFor(90, TimeUnit.SECONDS)).isTrue();
    List<String> lines = output.lines().toList();
    assertThat(lines).as("the client's output").isNotEmpty();
    JsonObject seen = new JsonObject(lines.get(lines.size() - 1));
    assertThat(seen.getString("fatal")).as("the client crashed").isNull();
    return seen;
  }

  @Test
  void spawnGetSessionRenewEventsAndShutdown() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("sdk-app"));

    JsonObject seen = drive(project, "spawn", Map.of());

    JsonObject session = seen.getJsonObject("session");
    assertThat(session.getString("workspace_key")).isEqualTo(key);
    assertThat(session.getJsonObject("agent").getString("name")).isEqualTo("sdk-app");
    assertThat(seen.getJsonObject("renew").getBoolean("renewed")).isTrue();
    assertThat(seen.getJsonObject("stateEvent")).isNotNull();
    assertThat(seen.getBoolean("brokerExited")).as("shutdown() ended the broker").isTrue();
    assertThat(project.resolve(".agentworkforce/relay/connection.json")).doesNotExist();
    // Step 6 and 8: the agent joined the channel the client asked for, and was marked offline on the way out.
    assertThat(emulator.agent(key, "sdk-app").getJsonArray("channels")).contains("general");
    assertThat(emulator.requestLines()).contains("POST /v1/channels agent-token 201", "POST /v1/channels/general/join agent-token 200")
      .contains("PATCH /v1/agents/sdk-app workspace-key 200");
    assertThat(emulator.agent(key, "sdk-app").getString("status")).isEqualTo("offline");
  }

  @Test
  void connectFindsABrokerStartedWithUpInTheDefaultStateDir() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("project"));
    try (BrokerProcess broker = BrokerProcess.start(project, Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key),
      "up", "--name", "alpha")) {
      Await.until("connection.json", () -> Files.exists(project.resolve(".agentworkforce/relay/connection.json")));

      JsonObject seen = drive(project, "connect", Map.of());

      assertThat(seen.getJsonObject("session").getJsonObject("agent").getString("name")).isEqualTo("alpha");
      assertThat(seen.getJsonObject("session").getString("state")).isEqualTo("ready");
    }
  }

  @Test
  void aRefusedStartReachesSpawnAsTheRealCauseAndTheBrokerDoesNotOutliveIt() throws Exception {
    emulator.createAgent(key, "alpha", null, "online");
    Path project = Files.createDirectories(tmp.resolve("refused"));
    // The launcher reads <cwd>/conf/config.json: a short grace keeps the test short.
    Files.createDirectories(project.resolve("conf"));
    Files.writeString(project.resolve("conf/config.json"), new JsonObject().put("failedGraceSecs", 2).encode());

    JsonObject seen = drive(project, "refused", Map.of());

    // The SDK shows the broker's message (it builds its error from our code and message fields).
    assertThat(seen.getString("error")).contains("agent name 'alpha' is live on another machine")
      .contains("--reclaim always").doesNotContain("Unable to connect").doesNotContain("503");
    assertThat(seen.getBoolean("brokerGone")).as("the broker stopped itself after the grace").isTrue();
  }
}
