package dev.relaybroker.identity;

import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** SPEC §2 steps 6 and 8 and the state-dir move: the cloud's ready-time and stop-time duties. */
class ReadyDutiesTest {
  @TempDir
  Path tmp;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();
  private EmulatorDriver emulator;
  private String key;

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
  }

  private BrokerOptions options(List<String> channels) {
    return Machine.options(emulator, key, "alpha", tmp.resolve("state")).setChannels(channels);
  }

  @Test
  void afterReadyTheAgentIsAMemberOfEachConfiguredChannel() {
    try (Machine broker = Machine.start(options(List.of("general", "builds")))) {
      broker.awaitReady();

      Await.until("both joined", () -> broker.snapshot().channels().size() == 2);
      assertThat(emulator.agent(key, "alpha").getJsonArray("channels")).containsExactlyInAnyOrder("general", "builds");
      assertThat(broker.snapshot().channelErrors()).isEmpty();
    }
  }

  /**
   * Found by the soak: a refresh rotated the token while a join was under way, the cloud refused the old token before
   * the broker learned the new one, and the channel was reported as not joinable and never tried again.
   */
  @Test
  void aJoinRefusedWith401IsTriedAgainWithTheCurrentTokenBeforeAnythingIsReported() {
    // The round's first call reaches the cloud 600 ms late, after a refresh rotated the token away under it: a real
    // 401 for the round's first token. The rotation's reply is lost, so the broker withdraws that token and reclaims
    // the agent (its takeover slowed to 1 s, within the request timeout): the retries meet no current token until
    // the reclaimed one, and must use that one, not the token the round began with.
    emulator.fault(new JsonObject().put("kind", "delay").put("method", "POST").put("path", "/v1/channels")
      .put("delay_ms", 600).put("count", 1));
    emulator.fault(new JsonObject().put("kind", "drop").put("method", "POST").put("path", "/v1/agents/alpha/rotate-token")
      .put("count", 1));
    emulator.fault(new JsonObject().put("kind", "delay").put("method", "POST").put("path", "/v1/agents/alpha/takeover")
      .put("delay_ms", 1000).put("count", 1));
    try (Machine broker = Machine.start(options(List.of("general")))) {
      List<dev.relaybroker.session.SessionSnapshot> snapshots = new java.util.concurrent.CopyOnWriteArrayList<>();
      broker.vertx().eventBus().<dev.relaybroker.session.SessionSnapshot>localConsumer(dev.relaybroker.bus.Addresses.SESSION_SNAPSHOT,
        m -> snapshots.add(m.body()));
      String firstToken = broker.awaitReady().getString("token");

      String currentToken = broker.refresh().getString("token");

      Await.until("joined", () -> broker.snapshot().channels().contains("general"));
      assertThat(currentToken).isNotEqualTo(firstToken).isEqualTo(emulator.agent(key, "alpha").getString("token"));
      assertThat(emulator.requestLines()).containsSubsequence("POST /v1/channels agent-token 401",
        "POST /v1/agents/alpha/takeover workspace-key 200", "POST /v1/channels/general/join agent-token 200");
      assertThat(emulator.agent(key, "alpha").getJsonArray("channels")).containsExactly("general");
      assertThat(snapshots).as("snapshots seen").anyMatch(s -> s.channels().contains("general"))
        .allSatisfy(s -> assertThat(s.channelErrors()).as("channel errors in snapshot %d", s.seq()).isEmpty());
    }
  }

  @Test
  void afterTheTokenWasTakenAndTheNameReclaimedTheChannelsAreJoinedAgain() {
    try (Machine broker = Machine.start(options(List.of("general")))) {
      String token = broker.awaitReady().getString("token");
      Await.until("joined", () -> broker.snapshot().channels().contains("general"));
      // Another tool rolls the token over behind the broker's back: the next refresh finds it dead and reclaims.
      emulator.admin("POST", "/_emulator/agents/status", new JsonObject().put("workspace_key", key).put("name", "alpha")
        .put("status", "offline"), 200);
      io.vertx.ext.web.client.WebClient web = io.vertx.ext.web.client.WebClient.create(emulator.vertx());
      dev.relaybroker.support.Await.await(web.postAbs(emulator.baseUrl() + "/v1/agents/alpha/rotate-token").bearerTokenAuthentication(token).send());
      web.close();
      emulator.clearRequests();

      broker.refresh();

      Await.until("joined again", () -> broker.snapshot().channels().contains("general")
        && emulator.requestLines().contains("POST /v1/channels/general/join agent-token 200"));
      assertThat(emulator.requestLines()).contains("POST /v1/agents/alpha/takeover workspace-key 200");
    }
  }

  @Test
  void aJoinThatFailsIsRetriedAndNeverDropsTheSession() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/channels/general/join").put("status", 503).put("count", 3));
    try (Machine broker = Machine.start(options(List.of("general")))) {
      String token = broker.awaitReady().getString("token");

      Await.until("joined after the 503s", () -> broker.snapshot().channels().contains("general"));
      assertThat(emulator.requestLines().stream().filter(l -> l.startsWith("POST /v1/channels/general/join"))).containsExactly(
        "POST /v1/channels/general/join agent-token 503", "POST /v1/channels/general/join agent-token 503",
        "POST /v1/channels/general/join agent-token 503", "POST /v1/channels/general/join agent-token 200");
      assertThat(broker.stateNames()).doesNotContain("failed", "retrying");
      assertThat(broker.session().getString("token")).isEqualTo(token);
    }
  }

  @Test
  void aChannelThatCannotBeJoinedIsReportedWithItsCause() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/channels").put("status", 403).put("count", -1));
    try (Machine broker = Machine.start(options(List.of("general")))) {
      broker.awaitReady();

      Await.until("reported", () -> broker.snapshot().channelErrors().containsKey("general"));
      assertThat(broker.snapshot().channelErrors().get("general")).startsWith("agent_token_rejected: ").contains("403");
      assertThat(broker.snapshot().status()).isEqualTo(200);
    }
  }

  @Test
  void aStopMarksTheAgentOfflineAndAFrozenCloudDoesNotHoldItUp() {
    Machine broker = Machine.start(options(List.of()));
    broker.awaitReady();
    broker.close();
    assertThat(emulator.requestLines()).last().isEqualTo("PATCH /v1/agents/alpha workspace-key 200");
    assertThat(emulator.agent(key, "alpha").getString("status")).isEqualTo("offline");

    Machine frozen = Machine.start(options(List.of()));
    frozen.awaitReady();
    emulator.fault(new JsonObject().put("method", "PATCH").put("path", "/v1/agents/*").put("kind", "freeze").put("count", -1));
    long started = System.nanoTime();
    frozen.close();
    long stopMs = (System.nanoTime() - started) / 1_000_000;
    assertThat(stopMs).as("the stop's budget is 2.5 s").isLessThan(3000);
  }

  @Test
  void twoStateDirsWithDifferentIdentitiesAreRefusedWithWhichToKeep() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("project"));
    Files.createDirectories(project.resolve(".agent-relay"));
    Files.createDirectories(project.resolve(".agentworkforce/relay"));
    Files.write(project.resolve(".agent-relay/identity.key"), new byte[32]);
    Files.write(project.resolve(".agentworkforce/relay/identity.key"), new byte[] {1, 2, 3});

    try (BrokerProcess broker = BrokerProcess.start(project, Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key),
      "up", "--name", "alpha")) {
      assertThat(broker.awaitExit()).isEqualTo(2);
      assertThat(String.join("\n", broker.stderr())).contains("both " + project.resolve(".agent-relay"))
        .contains("hold a broker identity, and they differ");
      assertThat(project.resolve(".agent-relay/identity.key")).exists();
    }
  }

  @Test
  void aSecondSigtermDuringTheStopExitsAtOnce() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("project"));
    try (BrokerProcess broker = BrokerProcess.start(project, Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key),
      "up", "--name", "alpha")) {
      Await.until("ready", () -> emulator.agent(key, "alpha") != null && Files.exists(project.resolve(".agentworkforce/relay/connection.json")));
      // A cloud that never answers the offline mark: the graceful stop would take its whole budget.
      emulator.fault(new JsonObject().put("method", "PATCH").put("path", "/v1/agents/*").put("kind", "freeze").put("count", -1));

      broker.terminate();
      Await.until("stopping", () -> broker.stderr().stream().anyMatch(l -> l.contains("stopping (SIGTERM)")));
      broker.terminate();

      assertThat(broker.awaitExit()).isZero();
      assertThat(broker.stderr()).anyMatch(l -> l.contains("stopping at once (SIGTERM again)"));
    }
  }

  @Test
  void aStateDirOfThePreviousLayoutIsMovedAndKeepsTheAgentInOneRoundTrip() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("project"));
    Map<String, String> env = Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key);
    String agentId;
    try (BrokerProcess first = BrokerProcess.start(project, env, "up", "--name", "alpha")) {
      Await.until("ready", () -> emulator.agent(key, "alpha") != null
        && Files.exists(project.resolve(".agentworkforce/relay/credentials.json")));
      agentId = emulator.agent(key, "alpha").getString("id");
    }
    // The previous layout: the identity in <cwd>/.agent-relay, where every earlier version kept it.
    Path legacy = Files.createDirectories(project.resolve(".agent-relay"));
    for (String file : List.of("identity.key", "credentials.json")) {
      Files.move(project.resolve(".agentworkforce/relay").resolve(file), legacy.resolve(file));
    }
    try (var left = Files.walk(project.resolve(".agentworkforce"))) {
      left.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    emulator.clearRequests();

    try (BrokerProcess current = BrokerProcess.start(project, env, "up", "--name", "alpha", "--api-port", "0")) {
      Await.until("ready again", () -> emulator.requestLines().stream().anyMatch(l -> l.contains("rotate-token agent-token 200")));
      assertThat(project.resolve(".agentworkforce/relay/identity.key")).exists();
      assertThat(project.resolve(".agent-relay/identity.key")).as("no second identity left behind").doesNotExist();
      assertThat(emulator.agent(key, "alpha").getString("id")).isEqualTo(agentId);
      assertThat(emulator.requestLines().stream().filter(l -> !l.contains("/v1/channels"))).containsExactly(
        "POST /v1/agents/alpha/rotate-token agent-token 200");
      Await.until("said once", () -> current.stderr().stream().anyMatch(l -> l.contains("Brought this project's broker identity")));
    }
  }
}
