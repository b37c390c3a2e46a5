package dev.relaybroker.api;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.BrokerApplication;
import dev.relaybroker.files.StateDirLock;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.relaybroker.support.Await.await;
import static dev.relaybroker.support.Await.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The local API as SDKs and people meet it, over real TCP and Unix sockets, in every state of the broker. */
class LocalApiTest {
  @TempDir
  Path stateDir;

  private EmulatorDriver emulator;
  private String key;
  private Vertx clients;
  private WebClient web;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
    clients = Vertx.vertx(dev.relaybroker.support.TestVertx.options());
    web = WebClient.create(clients);
  }

  @AfterEach
  void stop() {
    web.close();
    await(clients.close());
  }

  private Machine broker(BrokerOptions options) {
    return cloud.start(options);
  }

  private Machine broker() {
    return broker(Machine.options(emulator, key, "alpha", stateDir));
  }

  private HttpResponse<Buffer> get(Machine machine, String path, boolean withKey) {
    var request = web.get(machine.app().apiPort(), "127.0.0.1", path);
    if (withKey) {
      request.putHeader("X-API-Key", machine.app().apiKey());
    }
    return await(request.send());
  }

  private HttpResponse<Buffer> post(Machine machine, String path) {
    return await(web.post(machine.app().apiPort(), "127.0.0.1", path).putHeader("X-API-Key", machine.app().apiKey()).send());
  }

  private static void assertErrorBody(HttpResponse<Buffer> response, int status, String code) {
    assertThat(response.statusCode()).isEqualTo(status);
    JsonObject body = response.bodyAsJsonObject();
    assertThat(body.getString("code")).isEqualTo(code);
    assertThat(body.getInteger("statusCode")).isEqualTo(status);
    assertThat(body.getString("message")).isNotBlank();
    assertThat(body.getValue("retryable")).isInstanceOf(Boolean.class);
    // Older clients read the same four fields under "error".
    assertThat(body.getJsonObject("error").getString("code")).isEqualTo(code);
    assertThat(body.getJsonObject("error").getString("message")).isEqualTo(body.getString("message"));
    assertThat(body.getJsonObject("error").getInteger("statusCode")).isEqualTo(status);
  }

  @Test
  void readySessionHasTheExactSdkShape() {
    Machine machine = broker();
    JsonObject resolved = machine.awaitReady();

    HttpResponse<Buffer> response = get(machine, "/api/session", true);

    assertThat(response.statusCode()).isEqualTo(200);
    JsonObject body = response.bodyAsJsonObject();
    // Protocol 2: 12.4.1's fields (default_workspace_id a string, "ws_unknown" until known), then ours.
    assertThat(body.fieldNames()).containsExactlyInAnyOrder("broker_version", "protocol_version", "workspace_key",
      "default_workspace_id", "relay_base_url", "mode", "uptime_secs", "node_id", "node_name", "node_token",
      "operation_mode", "degraded", "spawn_capabilities",
      "state", "rolling_over", "presence", "channels", "agent", "token_fingerprint");
    assertThat(body.getBoolean("rolling_over")).isFalse();
    // Which token is served, matched against the cloud's record, and nothing of the token itself.
    String token = resolved.getString("token");
    assertThat(body.getString("token_fingerprint")).hasSize(16).isEqualTo(emulator.admin("POST", "/_emulator/agents/tokens",
      new JsonObject().put("workspace_key", key).put("name", resolved.getString("agentName")), 200)
      .getJsonArray("data").getJsonObject(0).getString("fingerprint"));
    assertThat(body.encode()).doesNotContain(token.substring(8));
    assertThat(body.getInteger("protocol_version")).isEqualTo(2);
    assertThat(body.getString("workspace_key")).isEqualTo(key);
    assertThat(body.getString("relay_base_url")).isEqualTo(emulator.baseUrl());
    assertThat(body.getString("mode")).isEqualTo("persist");
    assertThat(body.getString("state")).isEqualTo("ready");
    assertThat(body.getJsonObject("agent")).isEqualTo(new JsonObject().put("id", resolved.getString("agentId")).put("name", "alpha"));
  }

  @Test
  void whileRegisteringTheSessionIs503WithWhatItWaitsFor() {
    emulator.fault(new JsonObject().put("kind", "delay").put("method", "POST").put("path", "/v1/agents").put("delay_ms", 800));
    Machine machine = broker();

    HttpResponse<Buffer> response = get(machine, "/api/session?wait=0", true);

    assertErrorBody(response, 503, "broker_starting");
    assertThat(response.bodyAsJsonObject().getString("message")).contains("503 Service Unavailable").contains("registering agent 'alpha'");
    assertThat(response.bodyAsJsonObject().getBoolean("retryable")).isTrue();
    machine.awaitReady();
    assertThat(get(machine, "/api/session", true).statusCode()).isEqualTo(200);
  }

  @Test
  void whileRetryingTheSessionIs503AndSaysWhy() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 503).put("count", -1));
    Machine machine = broker();
    Await.until("retrying", () -> machine.lastState().filter("retrying"::equals).isPresent());

    HttpResponse<Buffer> response = get(machine, "/api/session", true);

    assertErrorBody(response, 503, "broker_starting");
    assertThat(response.bodyAsJsonObject().getString("message")).contains("503 Service Unavailable")
      .containsPattern("retrying in|attempt \\d+; last: .*service_unavailable");
    assertThat(get(machine, "/health", false).bodyAsJsonObject().getString("state")).isIn("retrying", "registering");
  }

  @Test
  void whenTheCloudRefusedTheSessionIs502WithTheRealCauseAndNo503() {
    emulator.createAgent(key, "alpha", null, "online");
    Machine machine = broker();
    machine.awaitFailed();

    HttpResponse<Buffer> response = get(machine, "/api/session", true);

    assertErrorBody(response, 502, "agent_live_elsewhere");
    assertThat(response.bodyAsJsonObject().getString("message"))
      .contains("agent name 'alpha' is live on another machine").doesNotContain("503").doesNotContainIgnoringCase("service unavailable");
    assertThat(response.bodyAsJsonObject().getBoolean("retryable")).isFalse();
  }

  @Test
  void rejectedKeyIs502WorkspaceKeyRejected() {
    Machine machine = broker(Machine.options(emulator, EmulatorDriver.randomKey(), "alpha", stateDir));
    machine.awaitFailed();

    HttpResponse<Buffer> response = get(machine, "/api/session", true);

    assertErrorBody(response, 502, "workspace_key_rejected");
    assertThat(response.bodyAsJsonObject().getString("message")).contains("workspace key rejected");
  }

  @Test
  void healthNeedsNoKeyAndReportsState() {
    Machine machine = broker();
    machine.awaitReady();

    JsonObject health = get(machine, "/health", false).bodyAsJsonObject();

    assertThat(health.fieldNames()).containsExactlyInAnyOrder("status", "service", "version", "uptimeMs", "state", "presence", "relaycastConnected",
      "agentCount", "pendingDeliveryCount", "deadLetterCount", "nodeConnected", "nodeDelivery", "wsConnections", "memoryMb",
      "workspaceId", "defaultWorkspaceId", "memberships", "checks");
    assertThat(health.getString("status")).isEqualTo("ok");
    assertThat(health.getString("service")).isEqualTo("agent-relay-listen");
    assertThat(health.getString("state")).isEqualTo("ready");
    assertThat(health.encode()).doesNotContain(key).doesNotContain(machine.app().apiKey());
  }

  @Test
  void everyRouteButHealthNeedsTheKeyAsHeaderOrBearerNeverQuery() {
    Machine machine = broker();
    machine.awaitReady();
    String apiKey = machine.app().apiKey();

    assertErrorBody(get(machine, "/api/session", false), 401, "unauthorized");
    assertErrorBody(await(web.get(machine.app().apiPort(), "127.0.0.1", "/api/session").putHeader("X-API-Key", "br_wrong").send()),
      401, "unauthorized");
    assertErrorBody(await(web.get(machine.app().apiPort(), "127.0.0.1", "/api/session?api_key=" + apiKey).send()), 401, "unauthorized");
    assertErrorBody(await(web.post(machine.app().apiPort(), "127.0.0.1", "/api/shutdown").send()), 401, "unauthorized");
    assertThat(await(web.get(machine.app().apiPort(), "127.0.0.1", "/api/session").bearerTokenAuthentication(apiKey).send()).statusCode())
      .isEqualTo(200);
    assertErrorBody(get(machine, "/api/nothing", true), 404, "not_found");
  }

  @Test
  void oversizedBodiesAre413() {
    Machine machine = broker();
    machine.awaitReady();

    HttpResponse<Buffer> response = await(web.post(machine.app().apiPort(), "127.0.0.1", "/api/session/renew")
      .putHeader("X-API-Key", machine.app().apiKey()).sendBuffer(Buffer.buffer(new byte[1024 * 1024])));

    assertErrorBody(response, 413, "payload_too_large");
  }

  @Test
  void renewAnswersTheLeaseAndRefreshRollsTheTokenOver() {
    Machine machine = broker();
    String firstToken = machine.awaitReady().getString("token");

    JsonObject renewed = post(machine, "/api/session/renew").bodyAsJsonObject();
    HttpResponse<Buffer> refreshed = post(machine, "/api/session/refresh");

    // 12.4.1 in persist mode: no lease, and it says so.
    assertThat(renewed).isEqualTo(new JsonObject().put("renewed", true).put("expires_in_secs", 0).put("persist", true));
    assertThat(refreshed.statusCode()).isEqualTo(200);
    assertThat(refreshed.bodyAsJsonObject().getString("state")).isEqualTo("ready");
    String current = emulator.agent(key, "alpha").getString("token");
    assertThat(current).isNotEqualTo(firstToken).isEqualTo(machine.session().getString("token"));
  }

  @Test
  void shutdownAnswersThenAsksTheApplicationToStop() {
    Machine machine = broker();
    machine.awaitReady();
    List<String> shutdowns = new CopyOnWriteArrayList<>();
    machine.vertx().eventBus().<String>consumer(Addresses.BROKER_SHUTDOWN, m -> shutdowns.add(m.body()));

    HttpResponse<Buffer> response = post(machine, "/api/shutdown");

    assertThat(response.bodyAsJsonObject()).isEqualTo(new JsonObject().put("status", "shutting_down"));
    Await.until("shutdown requested", () -> !shutdowns.isEmpty());
  }

  @Test
  void ephemeralBrokerAsksToStopWhenTheLeaseLapses() {
    BrokerOptions options = Machine.options(emulator, key, "alpha", stateDir).setMode(BrokerMode.EPHEMERAL).setLeaseSecs(1);
    Machine machine = broker(options);
    List<String> shutdowns = new CopyOnWriteArrayList<>();
    machine.vertx().eventBus().<String>consumer(Addresses.BROKER_SHUTDOWN, m -> shutdowns.add(m.body()));
    machine.awaitReady();

    Await.until("lease lapsed", () -> !shutdowns.isEmpty());

    assertThat(shutdowns).containsExactly("owner lease lapsed");
  }

  @Test
  void renewKeepsTheEphemeralBrokerAlive() throws Exception {
    BrokerOptions options = Machine.options(emulator, key, "alpha", stateDir).setMode(BrokerMode.EPHEMERAL).setLeaseSecs(1);
    Machine machine = broker(options);
    List<String> shutdowns = new CopyOnWriteArrayList<>();
    machine.vertx().eventBus().<String>consumer(Addresses.BROKER_SHUTDOWN, m -> shutdowns.add(m.body()));
    machine.awaitReady();

    for (int i = 0; i < 6; i++) {
      post(machine, "/api/session/renew");
      Thread.sleep(300);
    }

    assertThat(shutdowns).isEmpty();
  }

  @Test
  void unixSocketServesWithoutAKeyAndIsOwnerOnly() throws Exception {
    Machine machine = broker();
    machine.awaitReady();
    String socket = machine.app().socketPath();
    HttpClient http = clients.createHttpClient();

    Buffer body = await(TestVertx.onContext(clients, () -> http.request(new RequestOptions()
        .setServer(SocketAddress.domainSocketAddress(socket)).setHost("localhost").setURI("/api/session").setMethod(HttpMethod.GET))
      .compose(request -> request.send())
      .compose(response -> response.statusCode() == 200 ? response.body() : io.vertx.core.Future.failedFuture("status " + response.statusCode()))));

    assertThat(body.toJsonObject().getJsonObject("agent").getString("name")).isEqualTo("alpha");
    assertThat(socket).isEqualTo(stateDir.resolve("broker.sock").toString());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(socket)))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stateDir))).isEqualTo("rwx------");
    await(http.close());
  }

  @Test
  void curlOverTheUnixSocketReadsTheSession() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "curl is not installed");
    Machine machine = broker();
    machine.awaitReady();

    Process curl = new ProcessBuilder("curl", "-s", "--unix-socket", machine.app().socketPath(), "http://x/api/session")
      .redirectErrorStream(true).start();
    String output = new String(curl.getInputStream().readAllBytes());
    assertThat(curl.waitFor(10, TimeUnit.SECONDS)).isTrue();

    assertThat(new JsonObject(output).getString("state")).isEqualTo("ready");
  }

  @Test
  void connectionFileIsWrittenOwnerOnlyAndRemovedOnStop() throws Exception {
    Machine machine = broker();
    machine.awaitReady();
    Path file = stateDir.resolve("connection.json");

    JsonObject connection = new JsonObject(Files.readString(file));

    assertThat(connection.fieldNames()).containsExactlyInAnyOrder("url", "port", "api_key", "pid", "socket");
    assertThat(connection.getString("url")).isEqualTo("http://127.0.0.1:" + machine.app().apiPort());
    assertThat(connection.getInteger("port")).isEqualTo(machine.app().apiPort());
    assertThat(connection.getString("api_key")).isEqualTo(machine.app().apiKey()).matches("br_[0-9a-f]{32}");
    assertThat(connection.getLong("pid")).isEqualTo(ProcessHandle.current().pid());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");

    cloud.stop(machine);
    assertThat(file).doesNotExist();
    assertThat(stateDir.resolve("broker.sock")).doesNotExist();
  }

  @Test
  void secondBrokerForTheSameStateDirIsRefusedAndTheFirstKeepsServing() {
    Machine first = broker();
    first.awaitReady();

    Vertx secondMachine = Vertx.vertx(dev.relaybroker.support.TestVertx.options());
    Throwable refused = awaitFailure(BrokerApplication.start(secondMachine, Machine.options(emulator, key, "alpha", stateDir)));
    await(secondMachine.close());

    assertThat(refused).isInstanceOf(StateDirLock.HeldElsewhere.class)
      .hasMessage("another broker (pid " + ProcessHandle.current().pid() + ") is already running for " + stateDir);
    assertThat(get(first, "/api/session", true).statusCode()).isEqualTo(200);
    assertThat(stateDir.resolve("connection.json")).exists();
  }

  @Test
  void eventStreamReplaysAfterSinceSeqAndCarriesRolloversWithoutTokens() {
    Machine machine = broker();
    machine.awaitReady();
    List<JsonObject> received = new CopyOnWriteArrayList<>();
    WebSocketClient wsClient = clients.createWebSocketClient();
    WebSocket ws = openEventStream(wsClient, machine, 0, received);

    Await.until("replayed ready", () -> received.stream().anyMatch(e -> "ready".equals(e.getString("state"))));
    post(machine, "/api/session/refresh");
    Await.until("rollover event", () -> received.stream().anyMatch(e -> "token_rollover".equals(e.getString("kind"))));

    List<Long> seqs = received.stream().map(e -> e.getLong("seq")).toList();
    assertThat(seqs).isSorted().doesNotHaveDuplicates();
    assertThat(received).allSatisfy(e -> assertThat(e.fieldNames()).contains("seq", "kind", "at"));
    assertThat(received.toString()).doesNotContain("at_live_").doesNotContain(key);
    long last = seqs.get(seqs.size() - 1);
    await(ws.close());

    List<JsonObject> replay = new CopyOnWriteArrayList<>();
    WebSocket again = openEventStream(wsClient, machine, last - 1, replay);
    Await.until("replay of the last event", () -> !replay.isEmpty());
    assertThat(replay.get(0).getLong("seq")).isEqualTo(last);
    await(again.close());
  }

  /**
   * The broker replays the buffer as soon as the upgrade completes, so the handler goes on before connecting:
   * a handler set in the connect callback can miss frames that arrive in the same read as the handshake.
   */
  private WebSocket openEventStream(WebSocketClient wsClient, Machine machine, long sinceSeq, List<JsonObject> sink) {
    ClientWebSocket socket = wsClient.webSocket();
    socket.textMessageHandler(text -> sink.add(new JsonObject(text)));
    return await(socket.connect(new WebSocketConnectOptions().setPort(machine.app().apiPort()).setHost("127.0.0.1")
      .setURI("/ws?sinceSeq=" + sinceSeq).addHeader("X-API-Key", machine.app().apiKey())));
  }

  @Test
  void malformedHttpGetsA400AndTheBrokerKeepsAnswering() {
    Machine machine = broker();
    machine.awaitReady();
    NetClient net = clients.createNetClient();
    NetSocket socket = await(net.connect(machine.app().apiPort(), "127.0.0.1"));
    Buffer answer = Buffer.buffer();
    socket.handler(answer::appendBuffer);

    socket.write("THIS IS NOT HTTP\r\n\r\n");
    Await.until("an answer", () -> answer.length() > 0);

    assertThat(answer.toString()).matches("(?s)HTTP/1\\.[01] 400.*").doesNotContain("Exception");
    assertThat(get(machine, "/health", false).statusCode()).isEqualTo(200);
  }
}
