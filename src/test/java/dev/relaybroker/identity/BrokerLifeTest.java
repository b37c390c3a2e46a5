package dev.relaybroker.identity;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.CapturedLogs;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The broker's life seen from outside (issue 21): the transitions a user can provoke — a stop during a refresh, a
 * new agent after a removal, a recovery after a refusal, a takeover — each end where the table says, and every
 * state event carries only its own cause.
 */
class BrokerLifeTest {
  @TempDir
  Path tmp;

  private EmulatorDriver emulator;
  private String key;
  private WebClient web;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
    web = WebClient.create(emulator.vertx());
  }

  @AfterEach
  void stop() {
    web.close();
  }

  private Machine machine(BrokerOptions options) {
    return cloud.start(options);
  }

  private BrokerOptions options(String name, String dir) {
    return Machine.options(emulator, key, name, tmp.resolve(dir));
  }

  private Future<HttpResponse<Buffer>> post(Machine machine, String uri) {
    return web.post(machine.app().apiPort(), "127.0.0.1", uri).putHeader("X-API-Key", machine.app().apiKey()).send();
  }

  /** Issue 21 defect 1: a stop that arrives while a rollover is in flight is the end; nothing after it is ready. */
  @Test
  void aStopDuringARefreshNeverComesBackToReady() throws Exception {
    Machine broker = machine(options("alpha", "a"));
    broker.awaitReady();
    broker.awaitPresence("online");
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/*/rotate-token")
      .put("kind", "delay").put("delay_ms", 600).put("count", 1));
    emulator.fault(new JsonObject().put("method", "PATCH").put("path", "/v1/agents/*")
      .put("kind", "delay").put("delay_ms", 1000).put("count", 1));
    int realtimeBefore = emulator.realtimeLines().size();

    Future<HttpResponse<Buffer>> refresh = post(broker, "/api/session/refresh");
    Thread.sleep(150);
    cloud.stop(broker);

    List<String> states = broker.stateNames();
    assertThat(states.subList(states.indexOf("stopping"), states.size())).as("states from stopping on").containsOnly("stopping");
    assertThat(broker.snapshot().session()).as("the session after the stop").isNull();
    assertThat(emulator.realtimeLines()).as("realtime connections opened after the stop began").hasSize(realtimeBefore);
    HttpResponse<Buffer> answer = await(refresh.otherwiseEmpty(), Duration.ofSeconds(10));
    if (answer != null) {
      assertThat(answer.statusCode()).as("the refresh asked before the stop").isEqualTo(503);
      assertThat(answer.bodyAsString()).contains("stopping");
    }
    Thread.sleep(300);
    assertThat(emulator.agent(key, "alpha").getString("status")).as("the agent once the broker stopped").isEqualTo("offline");
  }

  /** Issue 21 defect 1, presence's side: a connection that keeps dropping is not reconnected once the stop began. */
  @Test
  void noRealtimeReconnectOnceTheStopBegan() {
    Machine broker = machine(options("alpha", "a"));
    broker.awaitReady();
    broker.awaitPresence("online");
    // Every new realtime connection is accepted, then closed at once: presence reconnects every 50–400 ms.
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/ws").put("kind", "drop").put("delay_ms", 0).put("count", -1));
    emulator.fault(new JsonObject().put("method", "PATCH").put("path", "/v1/agents/*")
      .put("kind", "delay").put("delay_ms", 1000).put("count", 1));
    broker.refresh();
    Await.until("presence reconnecting", () -> emulator.realtimeLines().size() >= 4);

    int atStop = emulator.realtimeLines().size();
    cloud.stop(broker);

    // One attempt may already have been under way when the stop began; a broker that kept reconnecting through
    // the stop's second makes several.
    assertThat(emulator.realtimeLines().size() - atStop).as("realtime connections opened after the stop began").isLessThanOrEqualTo(1);
  }

  /** Issue 21 defect 2: sequence numbers are per agent; a new agent's events start at 1 again and all arrive. */
  @Test
  void aNewAgentsFirstEventsReachTheBus() {
    Machine broker = machine(options("seq-demo", "a"));
    String firstAgent = broker.awaitReady().getString("agentId");
    broker.awaitPresence("online");
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    broker.vertx().eventBus().<JsonObject>localConsumer(Addresses.EVENTS, m -> events.add(m.body()));
    for (int i = 1; i <= 3; i++) {
      emulator.sendEvent(key, "seq-demo", new JsonObject().put("text", "old " + i));
    }
    Await.until("three events of the first agent", () -> events.size() == 3);

    emulator.admin("POST", "/_emulator/agents/remove", new JsonObject().put("workspace_key", key).put("name", "seq-demo"), 200);
    broker.awaitPresence("superseded");
    JsonObject renewed = broker.refresh();
    assertThat(renewed.getString("agentId")).isNotEqualTo(firstAgent);
    broker.awaitPresence("online");
    for (int i = 1; i <= 4; i++) {
      emulator.sendEvent(key, "seq-demo", new JsonObject().put("text", "new " + i));
    }

    Await.until("four events of the new agent", () -> events.size() >= 7);
    assertThat(events.subList(3, events.size())).extracting(e -> e.getString("text")).containsExactly("new 1", "new 2", "new 3", "new 4");
  }

  /** Issue 21 defect 3: a recovery after a refusal restores the lease; nothing stops a ready broker. */
  @Test
  void aRecoveredBrokerKeepsItsLease() throws Exception {
    emulator.createAgent(key, "lease-demo", null, "online");
    Machine broker = machine(options("lease-demo", "a").setMode(BrokerMode.PERSIST).setClientSpawned(true).setFailedGraceSecs(2));
    List<String> shutdowns = new CopyOnWriteArrayList<>();
    broker.vertx().eventBus().<String>consumer(broker.app().bus().brokerShutdown(), m -> shutdowns.add(m.body()));
    assertThat(broker.awaitFailed().getString("cause")).isEqualTo("agent_live_elsewhere");

    emulator.setStatus(key, "lease-demo", "offline");
    broker.refresh();
    assertThat(broker.lastState()).contains("ready");
    Thread.sleep(3500);

    assertThat(shutdowns).as("shutdown requests after the recovery").isEmpty();
    assertThat(broker.stateNames()).as("states").doesNotContain("stopping");
    assertThat(broker.snapshot().session()).isNotNull();
  }

  /** Issue 21 defect 3, its other half: a lease lapses by its rule, and an embedded broker stops itself. */
  @Test
  void aFailedBrokerNobodyRenewsStopsItselfAfterTheGrace() {
    emulator.createAgent(key, "lease-demo", null, "online");
    Machine broker = machine(options("lease-demo", "a").setMode(BrokerMode.PERSIST).setClientSpawned(true).setFailedGraceSecs(1));
    broker.awaitFailed();

    Await.until("the broker stopped by its lease", Duration.ofSeconds(10), () -> broker.stateNames().contains("stopping"));
    assertThat(broker.snapshot().state().wireName()).isEqualTo("stopping");
  }

  /** Issue 21 defect 4: after a takeover, the flow's next states carry no cause of the takeover. */
  @Test
  void stateEventsCarryOnlyTheirOwnCause() {
    Machine first = machine(options("alpha", "a"));
    first.awaitReady();
    first.awaitPresence("online");
    machine(options("alpha", "b").setReclaim(dev.relaybroker.config.ReclaimPolicy.ALWAYS)).awaitReady();
    Await.until("first superseded", () -> first.lastState().filter("superseded"::equals).isPresent());

    first.vertx().eventBus().request(Addresses.SESSION_REFRESH, new JsonObject());
    Await.until("the flow ran again", () -> first.stateNames().lastIndexOf("superseded") < first.stateNames().size() - 1
      && Set.of("failed", "ready", "superseded").contains(first.lastState().orElse("")));

    Set<String> withCause = Set.of("retrying", "failed", "superseded");
    assertThat(first.states()).as("state events").allSatisfy(event -> {
      if (!withCause.contains(event.getString("state"))) {
        assertThat(event.getString("cause")).as("cause of " + event.getString("state")).isNull();
      }
    });
  }

  /**
   * Issue 25 point 4: the default policy never seizes a live agent, whoever registered it. A broker restarted in
   * its own state dir finds its agent live on another installation that reclaimed it meanwhile: it refuses, with
   * the same advice the other side would get.
   */
  @Test
  void theDefaultPolicyNeverSeizesALiveAgentEvenOneThisInstallationRegistered() {
    Machine a = machine(options("app", "a"));
    a.awaitReady();
    a.awaitPresence("online");
    Machine b = machine(options("app", "b"));
    JsonObject bRefused = b.awaitFailed();
    // A live record stamped with another installation's identity key: 12.4.1's code for it (IdentityProof).
    assertThat(bRefused.getString("cause")).isEqualTo("agent_identity_mismatch");
    assertThat(bRefused.getString("message")).contains("is live on another machine").contains("--reclaim always");
    cloud.stop(a);
    Await.until("offline in the cloud", () -> "offline".equals(emulator.agent(key, "app").getString("status")));
    int logMark = CapturedLogs.mark();
    b.refresh();
    assertThat(b.lastState()).contains("ready");
    b.awaitPresence("online");
    assertThat(CapturedLogs.since(logMark)).as("what the reclaim through refresh says")
      .anyMatch(l -> l.contains("Taking over agent 'app'") && l.contains("offline") && l.contains("another installation"));

    Machine restarted = machine(options("app", "a"));
    JsonObject refused = restarted.awaitFailed();

    assertThat(refused.getString("cause")).as("its own record, held live by another").isEqualTo("agent_live_elsewhere");
    assertThat(refused.getString("message")).as("the same advice as the other side got").contains("is live on another machine")
      .contains("--reclaim always");
    assertThat(b.lastState()).contains("ready");
    assertThat(b.lastPresence()).contains("online");
    assertThat(emulator.agent(key, "app").getString("token")).isEqualTo(b.session().getString("token"));
  }

  /** Issue 25 point 7: the takeover is told once, with who holds the agent now. */
  @Test
  void aTakeoverIsLoggedOnce() throws Exception {
    Machine first = machine(options("alpha", "a"));
    first.awaitReady();
    first.awaitPresence("online");
    int logMark = CapturedLogs.mark();
    // Record reads answered late (the taker's, then the superseded broker's): by the second, the taker is live.
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/agents/alpha")
      .put("kind", "delay").put("delay_ms", 700).put("count", 2));
    machine(options("alpha", "b").setReclaim(dev.relaybroker.config.ReclaimPolicy.ALWAYS)).awaitReady();
    Await.until("first superseded", () -> first.lastPresence().filter("superseded"::equals).isPresent());
    Await.until("the warning logged", () -> CapturedLogs.since(logMark).stream().anyMatch(l -> l.contains("was taken over by another installation")));
    // The record read that names the holder ends well within this (the emulator answers at once).
    Thread.sleep(1500);

    assertThat(CapturedLogs.since(logMark)).filteredOn(l -> l.contains("was taken over by another installation")).hasSize(1);
  }
}
