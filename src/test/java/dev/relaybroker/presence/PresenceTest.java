package dev.relaybroker.presence;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.config.PresenceOptions;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.ReclaimPolicy;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.emulator.EmulatorOptions;
import dev.relaybroker.identity.CredentialCache;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Presence: a running broker is live in the cloud's eyes, and a taken-over one steps back for good. */
class PresenceTest {
  @TempDir
  Path tmp;

  private EmulatorDriver emulator;
  private String key;
  private final List<Machine> machines = new ArrayList<>();

  @BeforeEach
  void start() {
    emulator = EmulatorDriver.start(new EmulatorOptions().setEngine(Engine.CURRENT).setStateFile(tmp.resolve("cloud.json").toString()));
    key = emulator.createWorkspace();
  }

  @AfterEach
  void stop() {
    machines.forEach(Machine::close);
    if (emulator != null) {
      emulator.close();
    }
  }

  private Machine machine(String dir, ReclaimPolicy policy) {
    Machine machine = Machine.start(Machine.options(emulator, key, "alpha", tmp.resolve(dir)).setReclaim(policy));
    machines.add(machine);
    return machine;
  }

  private void stop(Machine machine) {
    machines.remove(machine);
    machine.close();
  }

  private long takeovers() {
    return emulator.requestLines().stream().filter(l -> l.contains("/takeover")).count();
  }

  private HttpResponse<Buffer> apiSession(Machine machine) {
    WebClient web = WebClient.create(emulator.vertx());
    try {
      return await(web.get(machine.app().apiPort(), "127.0.0.1", "/api/session").putHeader("X-API-Key", machine.app().apiKey()).send());
    } finally {
      web.close();
    }
  }

  private JsonObject health(Machine machine) {
    WebClient web = WebClient.create(emulator.vertx());
    try {
      return await(web.get(machine.app().apiPort(), "127.0.0.1", "/health").send()).bodyAsJsonObject();
    } finally {
      web.close();
    }
  }

  @Test
  void aRunningBrokerIsOnlineAndOfflineOnceStopped() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();
    first.awaitPresence("online");

    assertThat(emulator.agent(key, "alpha").getString("status")).isEqualTo("online");
    assertThat(emulator.realtimeLines()).containsExactly("agent-token 101");
    assertThat(apiSession(first).bodyAsJsonObject().getString("presence")).isEqualTo("online");
    assertThat(health(first).getBoolean("relaycastConnected")).isTrue();

    stop(first);
    Await.until("offline in the cloud", () -> "offline".equals(emulator.agent(key, "alpha").getString("status")));
  }

  @Test
  void secondMachineRefusesWhileTheFirstIsOnlineAndReclaimsOnceItIsGone() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();
    first.awaitPresence("online");

    Machine second = machine("desktop", ReclaimPolicy.OFFLINE);
    JsonObject refused = second.awaitFailed();

    // The record carries the first machine's identity_key, not the second's: 12.4.1's code for that refusal.
    assertThat(refused.getString("cause")).isEqualTo("agent_identity_mismatch");
    assertThat(takeovers()).isZero();
    assertThat(apiSession(second).bodyAsJsonObject().getString("message")).contains("agent name 'alpha' is live on another machine");

    stop(first);
    stop(second);
    Await.until("offline", () -> "offline".equals(emulator.agent(key, "alpha").getString("status")));
    Machine again = machine("desktop", ReclaimPolicy.OFFLINE);
    again.awaitReady();
    assertThat(takeovers()).isEqualTo(1);
  }

  @Test
  void reclaimAlwaysSupersedesTheFirstWhichStaysSupersededAcrossRestarts() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    String agentId = first.awaitReady().getString("agentId");
    first.awaitPresence("online");

    Machine second = machine("desktop", ReclaimPolicy.ALWAYS);
    second.awaitReady();
    second.awaitPresence("online");
    first.awaitPresence("superseded");

    HttpResponse<Buffer> firstSession = apiSession(first);
    assertThat(firstSession.statusCode()).isEqualTo(409);
    assertThat(firstSession.bodyAsJsonObject().getString("code")).isEqualTo("agent_superseded");
    assertThat(firstSession.bodyAsJsonObject().getString("message")).contains("'alpha'").contains("another installation");

    // Simulated restarts of the first machine: each one must step back, never take the agent back.
    stop(first);
    for (int restart = 0; restart < 5; restart++) {
      Machine restarted = machine("laptop", ReclaimPolicy.OFFLINE);
      assertThat(restarted.awaitFailed().getString("cause")).isEqualTo("agent_live_elsewhere");
      stop(restarted);
    }
    // And the winner holds on over many ping intervals with nobody fighting it.
    Await.until("a few more pings", () -> second.presenceStates().size() >= 2);
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }

    System.out.println("two-broker request log:\n  " + String.join("\n  ", emulator.requests().stream()
      .map(r -> r.getString("method") + " " + r.getString("path") + " " + r.getString("credential") + " " + r.getValue("status")).toList()));
    assertThat(takeovers()).isEqualTo(1);
    assertThat(second.lastPresence()).contains("online");
    assertThat(second.session().getString("agentId")).isEqualTo(agentId);
    assertThat(second.session().getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(emulator.agent(key, "alpha").getString("status")).isEqualTo("online");
  }

  /**
   * Found by the soak: a 4001 token_invalidated close is proof the token is dead (SPEC §2 step 7), but the broker
   * first asked the cloud about its token, and while the cloud could not answer it kept serving the dead token.
   */
  @Test
  void aTokenInvalidatedCloseWithdrawsTheTokenEvenWhenTheCloudCannotBeAskedAboutIt() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    JsonObject session = first.awaitReady();
    first.awaitPresence("online");
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/agent").put("status", 503).put("count", -1));
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/agents/*").put("status", 503).put("count", -1));

    WebClient web = WebClient.create(emulator.vertx());
    await(web.postAbs(emulator.baseUrl() + "/v1/agents/alpha/takeover").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("expected_agent_id", session.getString("agentId"))));
    web.close();

    first.awaitPresence("superseded");
    JsonObject answer = apiSession(first).bodyAsJsonObject();
    assertThat(answer.getString("code")).isEqualTo("agent_superseded");
    assertThat(answer.getString("message")).contains("agent 'alpha' was taken over by another installation");
    assertThat(emulator.requestLines()).noneMatch(l -> l.startsWith("GET /v1/agent agent-token"));
  }

  /**
   * Found by the 60-minute soak: after a 4001 the broker read the record to say who holds the agent before it
   * withdrew the token, and a read the cloud was slow to answer kept the dead token served for 3 s. The token goes
   * first; the read only makes the message more precise once it answers.
   */
  @Test
  void aTokenInvalidatedCloseWithdrawsTheTokenBeforeTheRecordIsRead() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    JsonObject session = first.awaitReady();
    first.awaitPresence("online");
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/agents/*").put("kind", "delay").put("delay_ms", 1000)
      .put("count", 1));

    WebClient web = WebClient.create(emulator.vertx());
    await(web.postAbs(emulator.baseUrl() + "/v1/agents/alpha/takeover").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("expected_agent_id", session.getString("agentId"))));
    web.close();

    first.awaitPresence("superseded");
    // Withdrawn before the record read was answered (it may not even have reached the cloud yet).
    assertThat(emulator.requests()).filteredOn(r -> "/v1/agents/alpha".equals(r.getString("path")))
      .as("record reads answered").noneMatch(read -> read.containsKey("status"));
    JsonObject answer = apiSession(first).bodyAsJsonObject();
    assertThat(answer.getString("code")).isEqualTo("agent_superseded");
    assertThat(answer.getString("message")).contains("agent 'alpha' was taken over by another installation");
    // Once the record answers (the taker holds no realtime connection: not live) the message stays as true as it was.
    Await.until("the record read", () -> emulator.requestLines().contains("GET /v1/agents/alpha workspace-key 200"));
    assertThat(first.lastPresence()).contains("superseded");
    assertThat(apiSession(first).bodyAsJsonObject().getString("code")).isEqualTo("agent_superseded");
  }

  /**
   * A takeover of ours whose answer never came is still carried out by the cloud, after our retry already got a
   * token: it kills that token with the same 4001 another installation's takeover would. Stepping back then would
   * leave the agent to nobody; the broker withdraws the dead token and claims its agent again.
   */
  @Test
  void ourOwnTakeoverLandingLateIsNotMistakenForAnotherInstallations() throws Exception {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();
    stop(first);
    Await.until("offline in the cloud", () -> "offline".equals(emulator.agent(key, "alpha").getString("status")));
    // A restart without its credential cache: 409, read the record (ours), take it over.
    Files.delete(tmp.resolve("laptop").resolve(CredentialCache.FILE_NAME));
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/*/takeover")
      .put("kind", "delay").put("delay_ms", 700).put("count", 1));
    var options = Machine.options(emulator, key, "alpha", tmp.resolve("laptop"));
    options.getCloud().setRequestTimeoutMs(250);
    Machine restarted = Machine.start(options);
    machines.add(restarted);

    Await.until("the late takeover seen and the agent claimed again", () ->
      restarted.states().stream().anyMatch(s -> s.getString("message", "").contains("went unanswered"))
        && "ready".equals(restarted.lastState().orElse(""))
        && "online".equals(restarted.lastPresence().orElse(""))
        && restarted.session().getString("token", "").equals(emulator.agent(key, "alpha").getString("token")));

    assertThat(restarted.stateNames()).doesNotContain("superseded", "failed");
    assertThat(restarted.presenceStates()).noneMatch(p -> "superseded".equals(p.getString("state")));
    // Ours timed out, its retry succeeded, the first landed late, and the broker took the agent back once.
    assertThat(takeovers()).isEqualTo(3);
    assertThat(apiSession(restarted).statusCode()).isEqualTo(200);
  }

  @Test
  void aTokenRefusedAtTheUpgradeWhileDisconnectedAlsoMeansSuperseded() {
    // Reconnects 3 s apart: the restarted cloud refuses realtime connections before the broker's next try, so
    // the takeover reaches it as a refusal at the upgrade (not as a 4001 close on a connection it won back).
    Machine first = Machine.start(Machine.options(emulator, key, "alpha", tmp.resolve("laptop")).setReclaim(ReclaimPolicy.OFFLINE)
      .setPresence(new PresenceOptions().setPingIntervalMs(500).setReconnectInitialDelayMs(3000).setReconnectMaxDelayMs(3000)
        .setConnectTimeoutMs(1000)));
    machines.add(first);
    JsonObject session = first.awaitReady();
    first.awaitPresence("online");
    int port = emulator.port();

    // The cloud goes away; while it is back but refusing realtime connections, another machine takes over.
    emulator.close();
    emulator = EmulatorDriver.start(new EmulatorOptions().setPort(port).setStateFile(tmp.resolve("cloud.json").toString()));
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("status", 503).put("count", -1));
    WebClient web = WebClient.create(emulator.vertx());
    await(web.postAbs(emulator.baseUrl() + "/v1/agents/alpha/takeover").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("expected_agent_id", session.getString("agentId"))));
    web.close();
    assertThat(emulator.realtimeLines()).as("no realtime connection accepted before the takeover").doesNotContain("agent-token 101");
    emulator.clearFaults();

    first.awaitPresence("superseded");

    assertThat(emulator.realtimeLines()).last().isEqualTo("agent-token 401");
    // Checked with the cloud before stepping back: the token is dead, the record still names our agent.
    assertThat(emulator.requestLines()).endsWith("GET /v1/agent agent-token 401", "GET /v1/agents/alpha workspace-key 200");
    assertThat(apiSession(first).bodyAsJsonObject().getString("code")).isEqualTo("agent_superseded");
    assertThat(apiSession(first).bodyAsJsonObject().getString("message")).contains("agent 'alpha' was taken over by another installation");
    assertThat(health(first).getBoolean("relaycastConnected")).isFalse();
    assertThat(takeovers()).isEqualTo(1);
  }

  @Test
  void aRefusalOfATokenTheCloudStillAcceptsIsAHiccupNotATakeover() {
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("status", 401).put("code", "unauthorized").put("count", 1));
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    JsonObject session = first.awaitReady();

    first.awaitPresence("online");

    assertThat(emulator.realtimeLines()).containsExactly("agent-token 401", "agent-token 101");
    assertThat(emulator.requestLines()).containsExactly("POST /v1/agents workspace-key 201", "GET /v1/agent agent-token 200");
    assertThat(first.presenceStates()).noneMatch(p -> "superseded".equals(p.getString("state")))
      .anyMatch(p -> p.getString("message", "").contains("the cloud still accepts the token"));
    assertThat(first.session().getString("token")).isEqualTo(session.getString("token"));
  }

  /**
   * Presence keeps no copy of identity's state: it reports the refusal, and identity, whose refresh is under way,
   * holds it (the refusal may be that rollover's doing). The rollover then fails without proving the token dead, so
   * identity hands the refusal back when the flow ends; presence checks it with the cloud then, and reconnects.
   */
  @Test
  void aRefusalDuringARefreshWaitsForTheFlowAndIsCheckedWhenItEndsWithoutANewToken() {
    // The first connection is accepted and dropped 800 ms later; the reconnect meets a 401.
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("kind", "drop").put("delay_ms", 800).put("count", 1));
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("status", 401).put("code", "unauthorized").put("count", 1));
    // Ephemeral: a rollover gives up after its attempts (persist mode would retry for as long as the cloud fails).
    BrokerOptions options = Machine.options(emulator, key, "alpha", tmp.resolve("laptop")).setMode(BrokerMode.EPHEMERAL);
    options.getCloud().setRetryMaxAttempts(4);
    Machine first = Machine.start(options);
    machines.add(first);
    String token = first.awaitReady().getString("token");
    first.awaitPresence("online");
    // Each rollover attempt takes 500 ms and fails with 503: the flow runs for 2 s and more, and ends with no new token.
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/alpha/rotate-token").put("status", 503)
      .put("delay_ms", 500).put("count", 4));

    assertThatThrownBy(first::refresh).hasMessageContaining("gave up after 4 attempts");

    Await.until("online again", () -> first.lastPresence().filter("online"::equals).isPresent()
      && emulator.realtimeLines().size() >= 3);
    assertThat(first.presenceStates()).anyMatch(p -> p.getString("message", "").contains("waiting for the identity flow under way"))
      .noneMatch(p -> "superseded".equals(p.getString("state")));
    // Checked only once the flow had ended: after the last rollover attempt.
    assertThat(emulator.requestLines()).containsSubsequence("POST /v1/agents/alpha/rotate-token agent-token 503",
      "POST /v1/agents/alpha/rotate-token agent-token 503", "POST /v1/agents/alpha/rotate-token agent-token 503",
      "POST /v1/agents/alpha/rotate-token agent-token 503", "GET /v1/agent agent-token 200");
    assertThat(emulator.realtimeLines()).containsExactly("agent-token 101", "agent-token 401", "agent-token 101");
    assertThat(first.session().getString("token")).isEqualTo(token);
  }

  @Test
  void anAgentRemovedInTheCloudIsGivenUpAndARestartRegistersTheNameAgain() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    String removedId = first.awaitReady().getString("agentId");
    first.awaitPresence("online");

    emulator.admin("POST", "/_emulator/agents/remove", new JsonObject().put("workspace_key", key).put("name", "alpha"), 200);
    first.awaitPresence("superseded");

    // The cloud closed the connection with 4001: proof enough, so the token went at once and only the record is
    // read, to say what happened.
    Await.until("the message corrected by the record", () -> apiSession(first).bodyAsJsonObject().getString("message")
      .contains("agent 'alpha' was removed from the workspace"));
    assertThat(emulator.requestLines()).endsWith("GET /v1/agents/alpha workspace-key 404").noneMatch(l -> l.startsWith("GET /v1/agent "));
    assertThat(apiSession(first).bodyAsJsonObject().getString("message")).contains("Restart the broker to register the name again");
    assertThat(first.lastPresence()).contains("superseded");

    stop(first);
    Machine restarted = machine("laptop", ReclaimPolicy.OFFLINE);
    assertThat(restarted.awaitReady().getString("agentId")).isNotEqualTo(removedId);
    assertThat(takeovers()).isZero();
  }

  @Test
  void emulatorRestartMeansReconnectWithBackoffThenOnlineAgain() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    JsonObject session = first.awaitReady();
    first.awaitPresence("online");
    int port = emulator.port();

    emulator.close();
    emulator = null;
    Await.until("offline with a retry", () -> first.presenceStates().stream()
      .anyMatch(p -> "offline".equals(p.getString("state")) && p.getInteger("attempt", 0) >= 2));
    emulator = EmulatorDriver.start(new EmulatorOptions().setPort(port).setStateFile(tmp.resolve("cloud.json").toString()));
    first.awaitPresence("online");

    assertThat(emulator.agent(key, "alpha").getString("status")).isEqualTo("online");
    assertThat(first.session().getString("token")).isEqualTo(session.getString("token"));
    assertThat(emulator.requestLines()).as("no identity requests, only a reconnect").isEmpty();
  }

  @Test
  void refreshWhileConnectedSwitchesTokensWithoutGoingOffline() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();
    first.awaitPresence("online");
    int presenceEventsBefore = first.presenceStates().size();

    JsonObject refreshed = first.refresh();
    Await.until("two realtime connections", () -> emulator.realtimeLines().size() == 2);
    Await.until("old connection replaced", () -> "online".equals(emulator.agent(key, "alpha").getString("status")));

    assertThat(emulator.realtimeLines()).containsExactly("agent-token 101", "agent-token 101");
    assertThat(first.presenceStates().subList(presenceEventsBefore, first.presenceStates().size()))
      .noneMatch(p -> "offline".equals(p.getString("state")));
    assertThat(refreshed.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(first.lastPresence()).contains("online");
  }

  @Test
  void aDroppedConnectionReconnectsWithoutTouchingTheIdentity() {
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("kind", "drop").put("delay_ms", 150));
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    JsonObject session = first.awaitReady();

    Await.until("dropped, then online again", () -> first.presenceStates().stream().anyMatch(p -> "offline".equals(p.getString("state")))
      && first.lastPresence().filter("online"::equals).isPresent());

    assertThat(emulator.requestLines()).containsExactly("POST /v1/agents workspace-key 201");
    assertThat(first.session().getString("token")).isEqualTo(session.getString("token"));
    assertThat(emulator.realtimeLines()).hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void aCloseRightAfterTheUpgradeIsNotMissed() {
    // The close frame can arrive in the same read as the handshake: the handlers must already be in place.
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("kind", "drop").put("delay_ms", 0).put("count", 1));
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();

    Await.until("closed, then online again", () -> emulator.realtimeLines().size() >= 2 && first.lastPresence().filter("online"::equals).isPresent());

    assertThat(first.presenceStates()).anyMatch(p -> p.getString("message", "").contains("connection closed (1011"))
      .noneMatch(p -> p.getString("message", "").contains("no pong"));
  }

  @Test
  void unansweredPingsMeanADeadConnectionAndAReconnect() {
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("kind", "mute"));
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();

    Await.until("reconnected after silence", () -> emulator.realtimeLines().size() >= 2 && first.lastPresence().filter("online"::equals).isPresent());

    assertThat(first.presenceStates()).anyMatch(p -> p.getString("message", "").contains("no pong"));
  }

  @Test
  void aPeerThatVanishedWithoutClosingNeitherHoldsPresenceNorTheStop() {
    // The first connection's peer stops reading: no pong, and our close frame is never answered.
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("kind", "freeze"));
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();

    Await.until("given up on the frozen connection, online on a new one", () -> emulator.realtimeLines().size() >= 2
      && first.lastPresence().filter("online"::equals).isPresent());
    assertThat(first.presenceStates()).anyMatch(p -> p.getString("message", "").contains("no pong"));

    // Stopping must not wait for the frozen peer: the local API still removes its files.
    Path connectionFile = tmp.resolve("laptop").resolve("connection.json");
    assertThat(connectionFile).exists();
    stop(first);
    assertThat(connectionFile).doesNotExist();
  }

  @Test
  void refusedUpgradesAreRetriedWithBackoff() {
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("status", 503).put("count", 2));
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();

    first.awaitPresence("online");

    assertThat(emulator.realtimeLines()).containsExactly("agent-token 503", "agent-token 503", "agent-token 101");
    assertThat(first.presenceStates().stream().filter(p -> "offline".equals(p.getString("state"))).map(p -> p.getInteger("attempt")))
      .containsExactly(1, 2);
  }

  @Test
  void cloudEventsReachTheBusWithoutDuplicates() {
    Machine first = machine("laptop", ReclaimPolicy.OFFLINE);
    first.awaitReady();
    first.awaitPresence("online");
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    first.vertx().eventBus().<JsonObject>localConsumer(Addresses.EVENTS, m -> events.add(m.body()));

    emulator.sendEvent(key, "alpha", new JsonObject().put("kind", "message").put("text", "hello"));
    emulator.sendEvent(key, "alpha", new JsonObject().put("kind", "message").put("text", "again"));

    Await.until("two events", () -> events.size() == 2);
    assertThat(events).extracting(e -> e.getString("text")).containsExactly("hello", "again");
    assertThat(events).extracting(e -> e.getLong("agent_seq")).containsExactly(1L, 2L);
  }
}
