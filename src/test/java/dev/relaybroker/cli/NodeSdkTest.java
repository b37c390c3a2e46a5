package dev.relaybroker.cli;

import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.EmulatorDriver;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A Node.js client speaking the SDK's spawn/poll/connect protocol gets a session, or the real cause at once. */
class NodeSdkTest {
  @TempDir
  Path tmp;

  private EmulatorDriver emulator;
  private String key;

  @BeforeAll
  static void requireNode() {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/node")) || Files.isExecutable(Path.of("/usr/local/bin/node")), "node is not installed");
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

  private JsonObject runSdk(String workspaceKey) throws Exception {
    Path project = Files.createDirectories(tmp.resolve("my-project"));
    Path launcher = BrokerProcess.writeLauncher(tmp);
    Path script = Path.of("src/test/resources/sdk/mimic-sdk.mjs").toAbsolutePath();
    ProcessBuilder builder = new ProcessBuilder("node", script.toString(), launcher.toString(), project.toString())
      .redirectError(ProcessBuilder.Redirect.DISCARD);
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("AGENT_RELAY_"));
    builder.environment().put("RELAY_BASE_URL", emulator.baseUrl());
    builder.environment().put("RELAY_API_KEY", workspaceKey);
    // A 6.x client looks in <cwd>/.agent-relay: pointed there, as the README tells its users.
    builder.environment().put("AGENT_RELAY_STATE_DIR", project.resolve(".agent-relay").toString());
    Process node = builder.start();
    String output = new String(node.getInputStream().readAllBytes()).trim();
    assertThat(node.waitFor(60, TimeUnit.SECONDS)).isTrue();
    List<String> lines = output.lines().toList();
    return new JsonObject(lines.get(lines.size() - 1));
  }

  @Test
  void sdkSpawnsPollsConnectsRenewsAndShutsDown() throws Exception {
    JsonObject seen = runSdk(key);

    assertThat(seen.getString("fatal")).isNull();
    assertThat(seen.getString("error")).isNull();
    assertThat(seen.getJsonObject("session").getString("state")).isEqualTo("ready");
    assertThat(seen.getJsonObject("session").getString("workspace_key")).isEqualTo(key);
    assertThat(seen.getJsonObject("session").getString("mode")).isEqualTo("ephemeral");
    assertThat(seen.getJsonObject("session").getJsonObject("agent").getString("name")).isEqualTo("my-project");
    assertThat(seen.getBoolean("connectionOk")).isTrue();
    assertThat(seen.getBoolean("pidAlive")).isTrue();
    assertThat(seen.getJsonObject("renew").getBoolean("renewed")).isTrue();
    assertThat(seen.getJsonObject("shutdown").getString("status")).isEqualTo("shutting_down");
    assertThat(seen.getValue("exitCode")).isEqualTo(0);
    assertThat(seen.getJsonArray("stdoutLines")).hasSize(1);
    // The session hold: the first poll, sent right after the listening line, is answered with the session.
    assertThat(seen.getInteger("polls")).isEqualTo(1);
    assertThat(seen.getBoolean("connectionFileLeft")).isFalse();
  }

  @Test
  void sdkReadsTheRealCauseInsteadOfAConnectionError() throws Exception {
    JsonObject seen = runSdk(EmulatorDriver.randomKey());

    assertThat(seen.getString("fatal")).isNull();
    assertThat(seen.getString("error")).startsWith("workspace_key_rejected: workspace key rejected")
      .doesNotContain("Unable to connect").doesNotContain("503");
    assertThat(seen.getInteger("polls")).as("the hold ends with the failure; no second poll").isEqualTo(1);
    assertThat(seen.getValue("exitCode")).isEqualTo(0);
  }

  @Test
  void sdkSpawnedTwiceForTheSameNameGetsASuffixedAgentInsteadOfDying() throws Exception {
    emulator.createAgent(key, "my-project", null, "online");

    JsonObject seen = runSdk(key);

    assertThat(seen.getJsonObject("session").getJsonObject("agent").getString("name")).matches("my-project-[0-9a-f]{8}");
  }
}
