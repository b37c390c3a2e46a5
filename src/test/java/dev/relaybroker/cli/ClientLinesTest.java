package dev.relaybroker.cli;

import dev.relaybroker.identity.CredentialCache;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One project, one identity, whichever client line spawns the broker: the 6.x clients look in
 * {@code <project>/.agent-relay} (and the README once told them to set {@code AGENT_RELAY_STATE_DIR} there), the
 * current ones in {@code <project>/.agentworkforce/relay}. Real processes, as the clients spawn them.
 */
class ClientLinesTest {
  @TempDir
  Path project;

  private EmulatorDriver emulator;
  private String key;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
  }

  /** Starts a broker, waits until it is ready, stops it with SIGTERM, and returns the agent id it held. */
  private String runUntilReady(Map<String, String> extraEnvironment, String... args) throws Exception {
    Map<String, String> environment = new HashMap<>(Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key));
    environment.putAll(extraEnvironment);
    try (BrokerProcess broker = BrokerProcess.start(project, environment, args)) {
      Await.until("ready", () -> String.join("\n", broker.stderr()).contains("Session ready") || !broker.isAlive());
      assertThat(broker.isAlive()).as(String.join("\n", broker.stderr())).isTrue();
      broker.terminate();
      assertThat(broker.awaitExit()).isZero();
    }
    return new JsonObject(Files.readString(project.resolve(".agentworkforce/relay").resolve(CredentialCache.FILE_NAME)))
      .getString("agent_id");
  }

  @Test
  void a6xSpawnWithTheOldStateDirAndAPlainStartShareOneAgent() throws Exception {
    Map<String, String> sixX = Map.of("AGENT_RELAY_STATE_DIR", project.resolve(".agent-relay").toString());

    String first = runUntilReady(sixX, "init", "--name", "app", "--persist");
    String plain = runUntilReady(Map.of(), "up", "--name", "app");
    String again = runUntilReady(sixX, "init", "--name", "app", "--persist");

    assertThat(plain).as("the plain start keeps the agent the 6.x spawn made").isEqualTo(first);
    assertThat(again).as("the next 6.x spawn too: no second identity").isEqualTo(first);
    assertThat(project.resolve(".agent-relay/identity.key")).doesNotExist();
    assertThat(project.resolve(".agent-relay/credentials.json")).doesNotExist();
  }

  @Test
  void anEarlierVersionsIdentityIsBroughtOverAndTheOldDirKeepsTheClientsOwnFiles() throws Exception {
    String first = runUntilReady(Map.of(), "up", "--name", "app");
    // What an earlier version left: the identity in .agent-relay, beside a 6.x client's own worker logs.
    Path legacy = Files.createDirectories(project.resolve(".agent-relay/team/worker-logs"));
    Path state = project.resolve(".agentworkforce/relay");
    Files.move(state.resolve("identity.key"), project.resolve(".agent-relay/identity.key"));
    Files.move(state.resolve(CredentialCache.FILE_NAME), project.resolve(".agent-relay").resolve(CredentialCache.FILE_NAME));
    Files.walk(project.resolve(".agentworkforce")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());

    String after = runUntilReady(Map.of(), "up", "--name", "app");

    assertThat(after).isEqualTo(first);
    assertThat(legacy).as("the 6.x client's own files stay where it keeps them").isDirectory();
    assertThat(project.resolve(".agent-relay/identity.key")).doesNotExist();
  }

  @Test
  void aRunningBrokerCanBeFoundWhereEitherClientLineLooks() throws Exception {
    Map<String, String> environment = Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key);
    Path current = project.resolve(".agentworkforce/relay/connection.json");
    Path sixX = project.resolve(".agent-relay/connection.json");
    try (BrokerProcess broker = BrokerProcess.start(project, environment, "up", "--name", "app")) {
      Await.until("ready", () -> String.join("\n", broker.stderr()).contains("Session ready") || !broker.isAlive());
      assertThat(current).exists();
      assertThat(sixX).exists();

      JsonObject forCurrent = new JsonObject(Files.readString(current));
      JsonObject forSixX = new JsonObject(Files.readString(sixX));
      assertThat(forSixX.getString("url")).isEqualTo(forCurrent.getString("url"));
      assertThat(forSixX.getString("api_key")).isEqualTo(forCurrent.getString("api_key"));
      assertThat(forSixX.getLong("pid")).isEqualTo(broker.pid());
      assertThat(Files.getPosixFilePermissions(sixX)).containsExactlyInAnyOrderElementsOf(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

      broker.terminate();
      assertThat(broker.awaitExit()).isZero();
    }
    assertThat(sixX).as("removed on a clean stop, like the other").doesNotExist();
    assertThat(current).doesNotExist();
  }
}
