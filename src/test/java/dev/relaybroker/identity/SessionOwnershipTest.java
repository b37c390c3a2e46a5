package dev.relaybroker.identity;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.bus.Secrets;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionUnavailable;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.config.PresenceOptions;
import dev.relaybroker.config.ReclaimPolicy;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import dev.relaybroker.support.PendingTimers;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static dev.relaybroker.support.Await.await;
import static dev.relaybroker.support.Await.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * One owner of the session (the identity verticle's snapshot): every surface serves the same answer, a valid
 * token is never withheld (make before break, session hold) and a dead one never served.
 */
class SessionOwnershipTest {
  @TempDir
  Path tmp;

  private EmulatorDriver emulator;
  private String key;
  private Vertx clients;
  private HttpClient http;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
    clients = Vertx.vertx(TestVertx.options());
    http = clients.createHttpClient();
  }

  @AfterEach
  void stop() {
    await(http.close());
    await(clients.close());
  }

  private Machine broker(BrokerOptions options) {
    return cloud.start(options);
  }

  private BrokerOptions options(String name, String dir) {
    return Machine.options(emulator, key, name, tmp.resolve(dir));
  }

  /** One answer of the local API: status, body, and when it was asked and answered. */
  record Answer(int status, JsonObject body, long sentMs, long receivedMs) {
  }

  private Future<Answer> ask(Machine machine, HttpMethod method, String uri, boolean overSocket) {
    long sent = System.currentTimeMillis();
    RequestOptions request = new RequestOptions().setMethod(method).setURI(uri).setHost("localhost");
    if (overSocket) {
      request.setServer(SocketAddress.domainSocketAddress(machine.app().socketPath()));
    } else {
      request.setPort(machine.app().apiPort()).setHost("127.0.0.1").putHeader("X-API-Key", machine.app().apiKey());
    }
    return TestVertx.onContext(clients, () -> http.request(request).compose(r -> r.send())
      .compose(response -> response.body().map(body -> new Answer(response.statusCode(),
        body.length() == 0 ? new JsonObject() : body.toJsonObject(), sent, System.currentTimeMillis()))));
  }

  private Answer get(Machine machine, String uri) {
    return await(ask(machine, HttpMethod.GET, uri, false));
  }

  /** When this broker's snapshots first carried each token: the moment every surface started to serve it. */
  private Map<String, Long> servedSince(Machine machine) {
    Map<String, Long> since = new ConcurrentHashMap<>();
    machine.vertx().eventBus().<SessionSnapshot>localConsumer(Addresses.SESSION_SNAPSHOT, m -> {
      if (m.body().session() != null) {
        since.putIfAbsent(m.body().session().token(), System.currentTimeMillis());
      }
    });
    return since;
  }

  @Test
  void aRefreshThroughThirtySecondsOfOutageKeepsServingTheOldTokenTo16ClientsAndTheBus() throws Exception {
    Machine broker = broker(options("alpha", "a"));
    String oldToken = broker.awaitReady().getString("token");
    Map<String, Long> servedSince = servedSince(broker);
    servedSince.put(oldToken, 0L);
    long outageStarted = System.currentTimeMillis();
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/alpha/rotate-token")
      .put("status", 503).put("count", -1));

    AtomicBoolean polling = new AtomicBoolean(true);
    List<List<Answer>> httpAnswersByClient = new ArrayList<>();
    List<Answer> busAnswers = new CopyOnWriteArrayList<>();
    for (int client = 0; client < 16; client++) {
      boolean overSocket = client % 2 == 1;
      List<Answer> answers = new CopyOnWriteArrayList<>();
      httpAnswersByClient.add(answers);
      clients.runOnContext(v -> pollHttp(broker, overSocket, polling, answers));
    }
    pollBus(broker, polling, busAnswers);

    Answer refreshing = await(ask(broker, HttpMethod.POST, "/api/session/refresh", false), java.time.Duration.ofSeconds(15));
    assertThat(refreshing.status()).as("a refresh still retrying answers with the current session").isEqualTo(200);
    assertThat(refreshing.body().getBoolean("rolling_over")).isTrue();
    assertThat(broker.states()).anyMatch(s -> "retrying".equals(s.getString("state")));
    Thread.sleep(Math.max(0, outageStarted + 30_000 - System.currentTimeMillis()));
    emulator.clearFaults();
    Await.until("the new token served on the bus", () -> !busAnswers.isEmpty()
      && !busAnswers.get(busAnswers.size() - 1).body().getString("token").equals(oldToken));
    Thread.sleep(300);
    polling.set(false);

    String newToken = emulator.agent(key, "alpha").getString("token");
    String oldFingerprint = Secrets.fingerprint(oldToken);
    String newFingerprint = Secrets.fingerprint(newToken);
    List<Answer> httpAnswers = httpAnswersByClient.stream().flatMap(List::stream).toList();
    System.out.printf("make before break: %d HTTP answers (TCP and socket), %d bus answers, %d non-200%n", httpAnswers.size(),
      busAnswers.size(), httpAnswers.stream().filter(a -> a.status() != 200).count() + busAnswers.stream().filter(a -> a.status() != 200).count());
    assertThat(newToken).isNotEqualTo(oldToken);
    assertThat(httpAnswers).as("HTTP answers (TCP and socket)").hasSizeGreaterThan(1000);
    assertThat(httpAnswers).as("HTTP answers other than 200").filteredOn(a -> a.status() != 200).isEmpty();
    assertThat(httpAnswers.stream().map(a -> a.body().getString("token_fingerprint")).distinct())
      .as("fingerprints served over HTTP").containsExactlyInAnyOrder(oldFingerprint, newFingerprint);
    assertThat(busAnswers).as("bus answers").hasSizeGreaterThan(100).allSatisfy(a -> assertThat(a.status()).isEqualTo(200));
    assertThat(busAnswers.stream().map(a -> a.body().getString("token")).distinct()).containsExactly(oldToken, newToken);
    // Each HTTP client asks again only once answered: it sees the old token until the swap, then only the new one.
    for (List<Answer> answers : httpAnswersByClient) {
      List<String> fingerprints = answers.stream().map(a -> a.body().getString("token_fingerprint")).toList();
      assertThat(fingerprints.stream().distinct()).as("one client's fingerprints in order").containsExactly(oldFingerprint, newFingerprint);
    }
    // The outage lasted 30 s, and the old token was served through all of it.
    List<JsonObject> history = emulator.admin("POST", "/_emulator/agents/tokens",
      new JsonObject().put("workspace_key", key).put("name", "alpha"), 200).getJsonArray("data").stream().map(o -> (JsonObject) o).toList();
    long rotated = history.stream().filter(h -> h.getString("token").equals(newToken)).findFirst().orElseThrow().getLong("issued_at_ms");
    assertThat(rotated - outageStarted).as("ms from the outage's start to the rotation").isGreaterThanOrEqualTo(30_000);
    assertThat(httpAnswers.stream().filter(a -> oldFingerprint.equals(a.body().getString("token_fingerprint")))
      .mapToLong(Answer::receivedMs).max().orElseThrow() - outageStarted)
      .as("ms into the outage the old token was last served over HTTP").isGreaterThanOrEqualTo(29_000);
    // The emulator confirms each served token was current when served: issued before it was answered, and not
    // yet revoked when asked for, unless the broker had not yet learned its successor (the rollover's own reply).
    for (Answer answer : busAnswers) {
      assertServedWhileCurrent(answer, Secrets.fingerprint(answer.body().getString("token")), history, servedSince);
    }
    for (Answer answer : httpAnswers) {
      assertServedWhileCurrent(answer, answer.body().getString("token_fingerprint"), history, servedSince);
    }
  }

  private static void assertServedWhileCurrent(Answer answer, String fingerprint, List<JsonObject> history,
      Map<String, Long> servedSince) {
    JsonObject span = history.stream().filter(h -> h.getString("fingerprint").equals(fingerprint)).findFirst().orElseThrow(
      () -> new AssertionError("served fingerprint " + fingerprint + " was never issued by the cloud"));
    long successorLearned = history.stream().filter(h -> h.getLong("issued_at_ms") > span.getLong("issued_at_ms"))
      .map(h -> servedSince.getOrDefault(h.getString("token"), Long.MAX_VALUE)).findFirst().orElse(Long.MAX_VALUE);
    assertThat(span.getLong("issued_at_ms")).isLessThanOrEqualTo(answer.receivedMs());
    if (span.containsKey("revoked_at_ms")) {
      assertThat(span.getLong("revoked_at_ms") >= answer.sentMs() || answer.sentMs() <= successorLearned)
        .as("token served at %d was revoked at %d", answer.sentMs(), span.getLong("revoked_at_ms")).isTrue();
    }
  }

  private void pollHttp(Machine broker, boolean overSocket, AtomicBoolean polling, List<Answer> answers) {
    if (!polling.get()) {
      return;
    }
    ask(broker, HttpMethod.GET, "/api/session", overSocket).onComplete(done -> {
      answers.add(done.succeeded() ? done.result() : new Answer(0, new JsonObject().put("error", String.valueOf(done.cause())), 0, 0));
      clients.setTimer(5, t -> pollHttp(broker, overSocket, polling, answers));
    });
  }

  private void pollBus(Machine broker, AtomicBoolean polling, List<Answer> answers) {
    if (!polling.get()) {
      return;
    }
    long sent = System.currentTimeMillis();
    broker.vertx().eventBus().<JsonObject>request(Addresses.SESSION_GET, null).onComplete(done -> {
      answers.add(done.succeeded() ? new Answer(200, done.result().body(), sent, System.currentTimeMillis())
        : new Answer(((io.vertx.core.eventbus.ReplyException) done.cause()).failureCode(), new JsonObject(), sent, System.currentTimeMillis()));
      broker.vertx().setTimer(5, t -> pollBus(broker, polling, answers));
    });
  }

  @Test
  void aTakeoverWithdrawsTheTokenFromEverySurfaceTheMomentPresenceSeesIt() {
    Machine first = broker(options("alpha", "a"));
    String deadToken = first.awaitReady().getString("token");
    first.awaitPresence("online");

    Machine second = broker(options("alpha", "b").setReclaim(ReclaimPolicy.ALWAYS));
    second.awaitReady();
    first.awaitPresence("superseded");

    // Identity records the takeover before presence says it: no window in which any surface still serves it.
    Throwable onBus = awaitFailure(first.vertx().eventBus().request(Addresses.SESSION_GET, null));
    assertThat(onBus).isInstanceOf(SessionUnavailable.class);
    SessionUnavailable unavailable = (SessionUnavailable) onBus;
    assertThat(unavailable.failureCode()).isEqualTo(409);
    assertThat(unavailable.failure().cause()).isEqualTo(FailureCause.AGENT_SUPERSEDED);
    assertThat(unavailable.failure().getMessage()).contains("agent 'alpha' was taken over by another installation");
    Answer http = get(first, "/api/session");
    assertThat(http.status()).isEqualTo(409);
    assertThat(http.body().getString("code")).isEqualTo("agent_superseded");
    Answer socket = await(ask(first, HttpMethod.GET, "/api/session", true));
    assertThat(socket.status()).isEqualTo(409);
    JsonObject health = get(first, "/health").body();
    assertThat(health.getString("status")).isEqualTo("superseded");
    assertThat(health.getString("state")).isEqualTo("superseded");
    assertThat(first.snapshot().session()).isNull();
    assertThat(first.stateNames()).endsWith("superseded");
    // And it stays withdrawn.
    for (int i = 0; i < 20; i++) {
      assertThat(get(first, "/api/session").status()).isEqualTo(409);
      assertThat(awaitFailure(first.vertx().eventBus().request(Addresses.SESSION_GET, null))).isInstanceOf(SessionUnavailable.class);
    }
    assertThat(first.snapshot().toString()).doesNotContain(deadToken);
  }

  @Test
  void aLostRolloverReplyIsHealedByReclaimingTheAgentWithOneAuditedTakeover() {
    Machine broker = broker(options("alpha", "a"));
    String agentId = broker.awaitReady().getString("agentId");
    emulator.clearRequests();
    // The cloud rotates the token, then the connection resets before the answer: the broker's token is dead
    // and it cannot know.
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/alpha/rotate-token").put("kind", "drop"));

    JsonObject refreshed = broker.refresh();

    assertThat(refreshed.getString("agentId")).isEqualTo(agentId);
    assertThat(refreshed.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents/alpha/rotate-token agent-token 0",
      "POST /v1/agents/alpha/rotate-token agent-token 401",
      "GET /v1/agents/alpha workspace-key 200",
      "POST /v1/agents/alpha/takeover workspace-key 200");
    assertThat(emulator.audit()).filteredOn(a -> "takeover".equals(a.getString("action"))).hasSize(1);
    assertThat(broker.lastState()).contains("ready");
    assertThat(get(broker, "/api/session").status()).isEqualTo(200);
  }

  @Test
  void aClientThatAsksBeforeTheSessionExistsIsHeldUntilItDoes() {
    emulator.fault(new JsonObject().put("kind", "delay").put("method", "POST").put("path", "/v1/agents").put("delay_ms", 1500));
    Machine broker = broker(options("alpha", "a"));
    Map<String, Long> servedSince = servedSince(broker);

    Future<Answer> held = ask(broker, HttpMethod.GET, "/api/session", false);
    Future<Answer> heldOnSocket = ask(broker, HttpMethod.GET, "/api/session", true);
    long askedOnBus = System.currentTimeMillis();
    Future<io.vertx.core.eventbus.Message<JsonObject>> heldOnBus = broker.vertx().eventBus().request(Addresses.SESSION_GET, null);
    AtomicLong answeredOnBus = new AtomicLong();
    heldOnBus.onComplete(done -> answeredOnBus.set(System.currentTimeMillis()));
    Answer atOnce = get(broker, "/api/session?wait=0");

    assertThat(atOnce.status()).isEqualTo(503);
    assertThat(atOnce.body().getString("message")).contains("503 Service Unavailable").contains("registering agent 'alpha'");
    assertThat(await(held).status()).isEqualTo(200);
    assertThat(await(held).body().getJsonObject("agent").getString("name")).isEqualTo("alpha");
    assertThat(await(heldOnSocket).status()).isEqualTo(200);
    assertThat(await(heldOnBus).body().getString("agentName")).isEqualTo("alpha");
    // Answered when the session came, not on a poll: none of them was answered before the register returned.
    long ready = broker.states().stream().filter(s -> "ready".equals(s.getString("state"))).count();
    assertThat(ready).isEqualTo(1);
    // Released the moment the session existed, well before their own 5 s deadline.
    long sessionExisted = servedSince.values().stream().mapToLong(Long::longValue).min().orElseThrow();
    // (Not answered before it existed: each one's 200 says so.)
    for (Answer answer : List.of(await(held), await(heldOnSocket),
        new Answer(200, new JsonObject(), askedOnBus, answeredOnBus.get()))) {
      assertThat(answer.receivedMs() - sessionExisted).as("ms from the session's existence to a held answer")
        .isLessThanOrEqualTo(1000L);
      assertThat(answer.receivedMs() - answer.sentMs()).as("ms a request was held").isLessThan(4000L);
    }
    // Answered, and nothing left behind: no hold deadline stays armed (with the request it captured) for its 5 s
    // (HTTP) or 30 s (bus).
    assertThat(PendingTimers.firingLaterThan(broker.vertx(), 2_000)).as("timers armed for a later moment").isZero();
  }

  @Test
  void aHeldRequestEndsAs503WithTheRetryMessageWhenTheCloudIsStillDown() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 503).put("count", -1));
    Machine broker = broker(options("alpha", "a"));

    Answer waited = get(broker, "/api/session");

    assertThat(waited.status()).isEqualTo(503);
    assertThat(waited.receivedMs() - waited.sentMs()).as("held for api.sessionWaitMs").isGreaterThanOrEqualTo(4900);
    assertThat(waited.body().getString("code")).isEqualTo("broker_starting");
    // Between two attempts it says what failed and when it retries; during one, which attempt and what failed last.
    assertThat(waited.body().getString("message")).contains("503 Service Unavailable").containsAnyOf("register failed", "; last: ")
      .contains("service_unavailable");
    emulator.clearFaults();
    assertThat(get(broker, "/api/session").status()).isEqualTo(200);
  }

  @Test
  void aFailureEndsTheHoldAtOnceWithTheRealCause() {
    Machine broker = broker(Machine.options(emulator, EmulatorDriver.randomKey(), "alpha", tmp.resolve("a")));

    Answer refused = get(broker, "/api/session");

    assertThat(refused.status()).isEqualTo(502);
    assertThat(refused.body().getString("code")).isEqualTo("workspace_key_rejected");
    assertThat(refused.body().getBoolean("retryable")).isFalse();
    Throwable onBus = awaitFailure(broker.vertx().eventBus().request(Addresses.SESSION_GET, null,
      new DeliveryOptions().addHeader("wait", "0")));
    assertThat(((SessionUnavailable) onBus).failureCode()).isEqualTo(502);
    assertThat(((SessionUnavailable) onBus).failure().cause()).isEqualTo(FailureCause.WORKSPACE_KEY_REJECTED);
  }

  @Test
  void everyTransportFailureNamesAgentWorkspaceAndStepWithOneMeaningOfRetryable() {
    NetServer garbage = await(clients.createNetServer()
      .connectHandler(socket -> socket.write("NOT HTTP AT ALL\r\n\r\n").onComplete(v -> socket.close()))
      .listen(0, "127.0.0.1"));
    NetServer silent = await(clients.createNetServer().connectHandler(socket -> { }).listen(0, "127.0.0.1"));
    // A connection reset by the cloud: the emulator closes every register request without answering.
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("kind", "reset").put("count", -1));
    Map<String, String> clouds = Map.of(
      "reset", emulator.baseUrl(),
      "refused", "http://127.0.0.1:1",
      "http garbage", "http://127.0.0.1:" + garbage.actualPort(),
      "tls to a plain server", "https://127.0.0.1:" + emulator.port(),
      "timeout", "http://127.0.0.1:" + silent.actualPort());
    int dir = 0;
    for (Map.Entry<String, String> cloud : clouds.entrySet()) {
      BrokerOptions options = new BrokerOptions().setName("alpha").setMode(BrokerMode.EPHEMERAL)
        .setStateDir(tmp.resolve("t" + dir++).toString())
        .setPresence(new PresenceOptions().setEnabled(false))
        .setCloud(new CloudOptions().setBaseUrl(cloud.getValue()).setWorkspaceKey(key)
          .setRequestTimeoutMs(400).setConnectTimeoutMs(400).setRetryInitialDelayMs(5).setRetryMaxDelayMs(10).setRetryMaxAttempts(2));
      Machine broker = broker(options);

      JsonObject failed = broker.awaitFailed();
      Answer answer = get(broker, "/api/session");

      assertThat(failed.getString("cause")).as(cloud.getKey()).isIn("cloud_unreachable", "cloud_timeout");
      assertThat(failed.getBoolean("retryable")).as(cloud.getKey()).isTrue();
      assertThat(failed.getString("message")).as(cloud.getKey())
        .contains("agent 'alpha'").contains("the workspace of key rk_test_").contains("step register")
        .contains("gave up after 2 attempts").doesNotContain(key);
      assertThat(answer.status()).isEqualTo(502);
      assertThat(answer.body().getString("code")).isEqualTo(failed.getString("cause"));
      assertThat(answer.body().getBoolean("retryable")).as(cloud.getKey()).isTrue();
    }
    await(garbage.close());
    await(silent.close());
  }
}
