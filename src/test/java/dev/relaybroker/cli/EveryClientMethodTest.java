package dev.relaybroker.cli;

import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every method of the published {@code HarnessDriverClient} (harness-driver 9.1.6) against this broker, as a user
 * calls it: the read-only ones return this broker's data in 12.4.1's shapes, the worker-runtime ones fail with
 * {@code not_supported} and a sentence that names the route and says what this broker serves, never "no route".
 */
class EveryClientMethodTest {
  static final List<String> WORKER_RUNTIME = List.of("spawnPty", "spawnCli", "spawnHeadless", "spawnClaude", "spawnOpencode",
    "release", "sendInput", "resizePty", "getInboundDeliveryMode", "setInboundDeliveryMode", "getPending", "flushPending",
    "snapshot", "sendMessage", "setModel", "subscribeChannels", "unsubscribeChannels");

  @TempDir
  Path tmp;

  private EmulatorDriver emulator;
  private String key;

  @BeforeAll
  static void installTheClients() throws Exception {
    RealClientsTest.installTheClients();
  }

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
  }

  @Test
  void everyMethodGetsADeliberateAnswer() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("app"));
    Path launcher = BrokerProcess.writeLauncher(tmp);
    Path script = Path.of("src/test/resources/sdk/every-method.mjs").toAbsolutePath();
    ProcessBuilder builder = new ProcessBuilder("node", script.toString(),
      RealClientsTest.MODULES_ROOT.resolve("node_modules").toString(), launcher.toString(), project.toString(), "app")
      .directory(project.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("AGENT_RELAY_"));
    builder.environment().putAll(java.util.Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key));
    Process node = builder.start();
    String output = new String(node.getInputStream().readAllBytes()).trim();
    assertThat(node.waitFor(120, TimeUnit.SECONDS)).isTrue();
    List<String> lines = output.lines().toList();
    assertThat(lines).as("the client's output").isNotEmpty();
    JsonObject seen = new JsonObject(lines.get(lines.size() - 1));
    assertThat(seen.getString("fatal")).as("the client crashed").isNull();

    assertThat(value(seen, "getSession").getInteger("protocol_version")).isEqualTo(2);
    assertThat(value(seen, "healthCheck").getString("status")).isEqualTo("ok");
    assertThat(value(seen, "getStatus").getString("status")).isEqualTo("running");
    assertThat(value(seen, "getConfig").getString("workspaceKey")).isEqualTo(key);
    assertThat(seen.getJsonObject("listAgents").getJsonArray("value")).isEmpty();
    assertThat(value(seen, "getMetrics").getJsonObject("broker").getInteger("total_agents_spawned")).isZero();
    assertThat(value(seen, "getMetricsOfAnAgent").getJsonArray("agents")).isEmpty();
    assertThat(value(seen, "getCrashInsights").getInteger("total_crashes")).isZero();
    assertThat(value(seen, "preflight").getInteger("queued")).isZero();
    assertThat(value(seen, "renewLease").getBoolean("renewed")).isTrue();
    assertThat(seen.getJsonObject("queryEvents").getBoolean("ok")).isTrue();
    assertThat(seen.getJsonObject("getLastEvent").getBoolean("ok")).isTrue();

    for (String method : WORKER_RUNTIME) {
      JsonObject failure = seen.getJsonObject(method);
      assertThat(failure.getBoolean("ok")).as(method).isFalse();
      assertThat(failure.getString("code")).as(method).isEqualTo("not_supported");
      assertThat(failure.getInteger("status")).as(method).isEqualTo(501);
      assertThat(failure.getString("message")).as(method).contains("/api/")
        .contains("this broker serves identity and sessions").doesNotContain("no route");
    }
    // A WebSocket upgrade refused with 501: the client reports the status, not a hang.
    assertThat(seen.getJsonObject("openInputStream").getBoolean("ok")).isFalse();
    assertThat(seen.getJsonObject("openInputStream").getString("message")).contains("501");
    assertThat(seen.getJsonObject("shutdown").getBoolean("ok")).isTrue();
  }

  private static JsonObject value(JsonObject seen, String method) {
    JsonObject answer = seen.getJsonObject(method);
    assertThat(answer.getBoolean("ok")).as("%s: %s", method, answer).isTrue();
    return answer.getJsonObject("value");
  }
}
