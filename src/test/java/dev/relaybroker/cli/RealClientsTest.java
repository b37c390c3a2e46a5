package dev.relaybroker.cli;

import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The published clients drive our launcher for real: the current line, {@code @agent-relay/harness-driver@9.1.6}
 * and {@code @agent-relay/sdk@6.3.6}, each with its own default place to look, no environment variable. The suite installs both with npm into {@code target/npm-clients}; npm not
 * reaching its registry is a failure, not a skip.
 */
class RealClientsTest {
  static final Path MODULES_ROOT = Path.of("target", "npm-clients").toAbsolutePath();

  /** One published client: its npm package and version, and the class that spawns or connects to a broker. */
  enum Client {
    HARNESS_DRIVER_9("@agent-relay/harness-driver", "9.1.6", "HarnessDriverClient", false),
    SDK_6("@agent-relay/sdk", "6.3.6", "AgentRelayClient", false);

    final String pkg;
    final String version;
    final String className;
    /**
     * Whether the client needs AGENT_RELAY_STATE_DIR to find the broker: neither does. 6.x looks in
     * {@code <cwd>/.agent-relay}, where the broker leaves a discovery-only connection.json (cli.ClientLinesTest).
     */
    final boolean needsStateDirVariable;

    Client(String pkg, String version, String className, boolean needsStateDirVariable) {
      this.pkg = pkg;
      this.version = version;
      this.className = className;
      this.needsStateDirVariable = needsStateDirVariable;
    }

    /** Where this client reads connection.json. */
    Path stateDir(Path cwd) {
      return this == SDK_6 ? cwd.resolve(".agent-relay") : cwd.resolve(".agentworkforce/relay");
    }
  }

  @TempDir
  Path tmp;

  private EmulatorDriver emulator;
  private String key;

  @BeforeAll
  static void installTheClients() throws Exception {
    for (Client client : Client.values()) {
      Path installed = MODULES_ROOT.resolve("node_modules").resolve(client.pkg).resolve("package.json");
      if (Files.exists(installed) && new JsonObject(Files.readString(installed)).getString("version").equals(client.version)) {
        continue;
      }
      Files.createDirectories(MODULES_ROOT);
      String spec = client.pkg + "@" + client.version;
      Process npm = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--prefix", MODULES_ROOT.toString(), spec)
        .redirectErrorStream(true).start();
      String output = new String(npm.getInputStream().readAllBytes());
      if (!npm.waitFor(300, TimeUnit.SECONDS) || npm.exitValue() != 0) {
        throw new AssertionError("npm could not install " + spec + " (a real client these tests drive); npm said:\n" + output);
      }
    }
  }

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
  }

  private Map<String, String> environment(Client client, Path cwd, String workspaceKey) {
    Map<String, String> environment = new HashMap<>(Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", workspaceKey));
    if (client.needsStateDirVariable) {
      environment.put("AGENT_RELAY_STATE_DIR", client.stateDir(cwd).toString());
    }
    return environment;
  }

  private JsonObject drive(Client client, Path cwd, String mode, String name, Map<String, String> environment)
    throws IOException, InterruptedException {
    Path launcher = BrokerProcess.writeLauncher(tmp);
    Path script = Path.of("src/test/resources/sdk/real-client.mjs").toAbsolutePath();
    ProcessBuilder builder = new ProcessBuilder("node", script.toString(), MODULES_ROOT.resolve("node_modules").toString(),
      client.pkg, client.className, launcher.toString(), cwd.toString(), mode, name)
      .directory(cwd.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("AGENT_RELAY_"));
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

  @ParameterizedTest
  @EnumSource(Client.class)
  void spawnGetSessionRenewEventsAndShutdown(Client client) throws Exception {
    Path project = Files.createDirectories(tmp.resolve("sdk-app"));

    JsonObject seen = drive(client, project, "spawn", "sdk-app", environment(client, project, key));

    JsonObject session = seen.getJsonObject("session");
    assertThat(session.getString("workspace_key")).isEqualTo(key);
    assertThat(session.getString("mode")).isEqualTo("ephemeral");
    assertThat(session.getJsonObject("agent").getString("name")).isEqualTo("sdk-app");
    assertThat(seen.getJsonObject("renew").getBoolean("renewed")).isTrue();
    assertThat(seen.getJsonObject("stateEvent")).as("a state event on connectEvents()").isNotNull();
    assertThat(seen.getBoolean("brokerExited")).as("shutdown() ended the broker").isTrue();
    assertThat(client.stateDir(project).resolve("connection.json")).doesNotExist();
    // Step 6 and 8: the agent joined the channel the client asked for, and was marked offline on the way out.
    assertThat(emulator.agent(key, "sdk-app").getJsonArray("channels")).contains("general");
    assertThat(emulator.requestLines()).contains("POST /v1/channels/general/join agent-token 200")
      .contains("PATCH /v1/agents/sdk-app workspace-key 200");
    assertThat(emulator.agent(key, "sdk-app").getString("status")).isEqualTo("offline");
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void connectFindsABrokerStartedWithUpInThatDirectory(Client client) throws Exception {
    Path project = Files.createDirectories(tmp.resolve("project"));
    Map<String, String> environment = environment(client, project, key);
    try (BrokerProcess broker = BrokerProcess.start(project, environment, "up", "--name", "alpha")) {
      Await.until("connection.json", () -> Files.exists(client.stateDir(project).resolve("connection.json")) || !broker.isAlive());

      JsonObject seen = drive(client, project, "connect", "alpha", environment);

      assertThat(seen.getJsonObject("session").getJsonObject("agent").getString("name")).isEqualTo("alpha");
      assertThat(seen.getJsonObject("session").getString("state")).isEqualTo("ready");
    }
  }

  @Test
  void bothClientLinesInOneFolderReachTheSameBrokerAndAgent() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("shared-project"));
    Map<String, String> environment = Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key);
    try (BrokerProcess broker = BrokerProcess.start(project, environment, "up", "--name", "shared")) {
      Await.until("connection files", () -> Files.exists(Client.SDK_6.stateDir(project).resolve("connection.json"))
        && Files.exists(Client.HARNESS_DRIVER_9.stateDir(project).resolve("connection.json")) || !broker.isAlive());

      JsonObject current = drive(Client.HARNESS_DRIVER_9, project, "connect", "shared", environment).getJsonObject("session");
      JsonObject sixX = drive(Client.SDK_6, project, "connect", "shared", environment).getJsonObject("session");

      assertThat(sixX.getJsonObject("agent").getString("id")).isNotBlank()
        .isEqualTo(current.getJsonObject("agent").getString("id"));
      assertThat(sixX.getString("state")).isEqualTo("ready");
    }
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void aRefusedStartReachesSpawnAsTheRealCauseAndTheBrokerDoesNotOutliveIt(Client client) throws Exception {
    emulator.createAgent(key, "alpha", null, "online");
    Path project = withShortGrace(tmp.resolve("refused"));

    JsonObject seen = drive(client, project, "refused", "alpha", environment(client, project, key));

    // The SDK shows the broker's message (it builds its error from our code and message fields).
    assertThat(seen.getString("error")).contains("agent name 'alpha' is live on another machine")
      .contains("--reclaim always").doesNotContain("Unable to connect").doesNotContain("503");
    assertThat(seen.getBoolean("brokerGone")).as("the broker stopped itself after the grace").isTrue();
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void aRejectedKeyReachesSpawnAtOnce(Client client) throws Exception {
    Path project = withShortGrace(tmp.resolve("rejected"));

    JsonObject seen = drive(client, project, "rejected", "app", environment(client, project, EmulatorDriver.randomKey()));

    assertThat(seen.getString("error")).contains("workspace key rejected").contains("RELAY")
      .doesNotContain("Unable to connect").doesNotContain("503");
    // At once: the client's first session read is held and answered with the refusal. Without the hold it is answered
    // 503 while the broker registers, and the refusal only reaches the client at its next poll, 1 s later.
    assertThat(seen.getInteger("sessionRequests")).as("session reads before spawn() failed").isEqualTo(1);
    assertThat(seen.getBoolean("brokerGone")).isTrue();
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void aSecondSpawnForATakenNameGetsASuffixedAgent(Client client) throws Exception {
    emulator.createAgent(key, "sdk-app", null, "online");
    Path project = Files.createDirectories(tmp.resolve("sdk-app"));

    JsonObject seen = drive(client, project, "spawn", "sdk-app", environment(client, project, key));

    assertThat(seen.getJsonObject("session").getJsonObject("agent").getString("name")).matches("sdk-app-[0-9a-f]{8}");
  }

  /** The launcher reads {@code <cwd>/conf/config.json}: a short grace after a refusal keeps these tests short. */
  private static Path withShortGrace(Path project) throws IOException {
    Files.createDirectories(project.resolve("conf"));
    Files.writeString(project.resolve("conf/config.json"), new JsonObject().put("failedGraceSecs", 2).encode());
    return project;
  }
}
