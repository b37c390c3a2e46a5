package dev.relaybroker.api;

import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Protocol 2 over real sockets: the fields and routes of the published broker 12.4.1, in its shapes (measured against
 * its binary; the differential test {@code cli.PeerDifferentialTest} compares the two live), with this broker's data.
 */
class PeerShapeTest {
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

  private Machine broker(BrokerMode mode) {
    return cloud.start(Machine.options(emulator, key, "alpha", stateDir).setMode(mode));
  }

  private HttpResponse<Buffer> call(Machine machine, HttpMethod method, String path, JsonObject body) {
    var request = web.request(method, machine.app().apiPort(), "127.0.0.1", path).putHeader("X-API-Key", machine.app().apiKey());
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  private JsonObject ok(Machine machine, HttpMethod method, String path, JsonObject body) {
    HttpResponse<Buffer> response = call(machine, method, path, body);
    assertThat(response.statusCode()).as("%s %s", method, path).isEqualTo(200);
    return response.bodyAsJsonObject();
  }

  @Test
  void sessionAndHealthCarryTwelveFourOnesFieldsWithThisBrokersMeaning() {
    Machine machine = broker(BrokerMode.PERSIST);
    JsonObject resolved = machine.awaitReady();

    JsonObject session = ok(machine, HttpMethod.GET, "/api/session", null);
    assertThat(session.getInteger("protocol_version")).isEqualTo(2);
    assertThat(session.getString("operation_mode")).isEqualTo("normal");
    assertThat(session.getBoolean("degraded")).isFalse();
    assertThat(session.getString("node_id")).matches("node_[0-9a-f]{32}");
    assertThat(session.getString("node_name")).isEqualTo("alpha");
    assertThat(session.containsKey("node_token")).isTrue();
    assertThat(session.getValue("node_token")).isNull();
    assertThat(session.getString("default_workspace_id")).isNotBlank();
    assertThat(session.getJsonObject("spawn_capabilities").fieldNames())
      .containsExactlyInAnyOrder("create_only_identity", "explicit_empty_channels");
    assertThat(ok(machine, HttpMethod.GET, "/api/session", null).getString("node_id")).as("stable").isEqualTo(session.getString("node_id"));

    JsonObject health = await(web.get(machine.app().apiPort(), "127.0.0.1", "/health").send()).bodyAsJsonObject();
    assertThat(health.getInteger("agentCount")).isZero();
    assertThat(health.getInteger("pendingDeliveryCount")).isZero();
    assertThat(health.getInteger("deadLetterCount")).isZero();
    assertThat(health.getBoolean("nodeConnected")).isFalse();
    assertThat(health.getJsonObject("nodeDelivery")).isEqualTo(new JsonObject().put("connected", false).put("tokenPresent", false));
    assertThat(health.getInteger("wsConnections")).isZero();
    assertThat(health.getInteger("memoryMb")).isPositive();
    assertThat(health.getJsonArray("memberships")).isEqualTo(new JsonArray()
      .add(new JsonObject().put("is_default", true).put("workspace_id", health.getString("workspaceId"))));
    assertThat(resolved.getString("agentName")).isEqualTo("alpha");
  }

  @Test
  void renewAnswersTheLeaseInEphemeralModeAndNoLeaseInPersistMode() {
    Machine ephemeral = broker(BrokerMode.EPHEMERAL);
    ephemeral.awaitReady();

    assertThat(ok(ephemeral, HttpMethod.POST, "/api/session/renew", null))
      .isEqualTo(new JsonObject().put("renewed", true).put("expires_in_secs", 120).put("persist", false));
  }

  @Test
  void readOnlyRoutesOfThePublishedClientAnswerInItsShapesWithThisBrokersData() {
    Machine machine = broker(BrokerMode.PERSIST);
    JsonObject resolved = machine.awaitReady();

    JsonObject status = ok(machine, HttpMethod.GET, "/api/status", null);
    assertThat(status.getString("status")).isEqualTo("running");
    assertThat(status.getInteger("agent_count")).isZero();
    assertThat(status.getJsonArray("agents")).isEmpty();
    JsonObject workspace = status.getJsonObject("auth").getJsonArray("workspaces").getJsonObject(0);
    assertThat(workspace.getString("self_agent_id")).isEqualTo(resolved.getString("agentId"));
    assertThat(workspace.getString("self_name")).isEqualTo("alpha");
    assertThat(workspace.getBoolean("authenticated")).isTrue();

    JsonObject config = ok(machine, HttpMethod.GET, "/api/config", null);
    assertThat(config.getString("workspaceKey")).isEqualTo(key);
    assertThat(config.getJsonArray("memberships")).hasSize(1);

    assertThat(ok(machine, HttpMethod.GET, "/api/spawned", null)).isEqualTo(new JsonObject().put("agents", new JsonArray()));
    JsonObject metrics = ok(machine, HttpMethod.GET, "/api/metrics", null);
    assertThat(metrics.getJsonObject("broker").fieldNames())
      .containsExactlyInAnyOrder("active_agents", "total_agents_spawned", "total_crashes", "total_restarts", "uptime_secs");
    assertThat(ok(machine, HttpMethod.GET, "/api/crash-insights", null).getInteger("health_score")).isEqualTo(100);
    assertThat(ok(machine, HttpMethod.POST, "/api/preflight", new JsonObject().put("agents", new JsonArray().add(new JsonObject())))
      .getInteger("queued")).as("this broker starts no worker, so it queues none").isZero();
    assertThat(call(machine, HttpMethod.POST, "/api/preflight", new JsonObject()).statusCode()).isEqualTo(400);
  }

  @Test
  void workerRuntimeRoutesAnswer501NamingTheRoute() {
    Machine machine = broker(BrokerMode.PERSIST);
    machine.awaitReady();

    for (String route : List.of("POST /api/spawn", "POST /api/send", "POST /api/input/w1", "POST /api/resize/w1",
      "DELETE /api/spawned/w1", "GET /api/spawned/w1/snapshot", "POST /api/spawned/w1/flush", "GET /api/dead-letters",
      "GET /api/fleet", "GET /api/node-delivery")) {
      String[] parts = route.split(" ");
      HttpResponse<Buffer> response = call(machine, HttpMethod.valueOf(parts[0]), parts[1], new JsonObject());

      assertThat(response.statusCode()).as(route).isEqualTo(501);
      JsonObject body = response.bodyAsJsonObject();
      assertThat(body.getString("code")).isEqualTo("not_supported");
      assertThat(body.getString("message")).as(route).startsWith(route).contains("this broker serves identity and sessions");
    }
    assertThat(await(web.post(machine.app().apiPort(), "127.0.0.1", "/api/spawn").send()).statusCode())
      .as("no key, no answer about routes").isEqualTo(401);
  }

  @Test
  void healthListsEachDependencyAndHealthChecksIsTheLibrarysReadinessAnswer() {
    Machine machine = broker(BrokerMode.EPHEMERAL);
    machine.awaitReady();
    machine.awaitPresence("online");

    JsonObject health = await(web.get(machine.app().apiPort(), "127.0.0.1", "/health").send()).bodyAsJsonObject();
    HttpResponse<Buffer> readiness = await(web.get(machine.app().apiPort(), "127.0.0.1", "/health/checks").send());

    assertThat(health.getString("status")).isEqualTo("ok");
    assertThat(checks(health.getJsonArray("checks"))).containsEntry("cloud", "UP").containsEntry("realtime", "UP")
      .containsEntry("state-dir", "UP").containsEntry("lease", "UP").hasSize(4);
    assertThat(readiness.statusCode()).isEqualTo(200);
    assertThat(readiness.bodyAsJsonObject().getString("outcome")).isEqualTo("UP");
  }

  /**
   * Each check is registered by the part that owns the dependency, for as long as that part runs: without presence
   * there is no realtime check (and no stand-in saying "disabled"), and the lease of a persist broker a person
   * started says it never lapses.
   */
  @Test
  void eachCheckComesFromThePartThatOwnsItSoAPartThatDoesNotRunHasNone() {
    var options = Machine.options(emulator, key, "alpha", stateDir).setMode(BrokerMode.PERSIST);
    options.getPresence().setEnabled(false);
    Machine machine = cloud.start(options);
    machine.awaitReady();

    JsonObject health = await(web.get(machine.app().apiPort(), "127.0.0.1", "/health").send()).bodyAsJsonObject();

    assertThat(checks(health.getJsonArray("checks"))).containsOnlyKeys("cloud", "state-dir", "lease").doesNotContainValue("DOWN");
    JsonObject lease = health.getJsonArray("checks").stream().map(JsonObject.class::cast)
      .filter(c -> "lease".equals(c.getString("id"))).findFirst().orElseThrow();
    assertThat(lease.getJsonObject("data").getBoolean("persist")).isTrue();
  }

  @Test
  void anUnreachableCloudIsOneDownCheckWhileHealthStaysALivenessAnswer() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 503).put("count", -1));
    Machine machine = broker(BrokerMode.PERSIST);
    dev.relaybroker.support.Await.until("retrying", () -> machine.lastState().filter("retrying"::equals).isPresent());

    HttpResponse<Buffer> health = await(web.get(machine.app().apiPort(), "127.0.0.1", "/health").send());
    HttpResponse<Buffer> readiness = await(web.get(machine.app().apiPort(), "127.0.0.1", "/health/checks").send());

    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(checks(health.bodyAsJsonObject().getJsonArray("checks"))).containsEntry("cloud", "DOWN")
      .containsEntry("state-dir", "UP").containsEntry("lease", "UP");
    assertThat(readiness.statusCode()).isEqualTo(503);
    assertThat(readiness.bodyAsJsonObject().getString("outcome")).isEqualTo("DOWN");
  }

  private static java.util.Map<String, String> checks(JsonArray checks) {
    java.util.Map<String, String> byId = new java.util.TreeMap<>();
    checks.forEach(check -> byId.put(((JsonObject) check).getString("id"), ((JsonObject) check).getString("status")));
    return byId;
  }

  @Test
  void aFailedBrokerDoesNotSayItIsConnecting() {
    emulator.createAgent(key, "alpha", null, "online");
    Machine machine = broker(BrokerMode.PERSIST);
    machine.awaitFailed();

    JsonObject health = await(web.get(machine.app().apiPort(), "127.0.0.1", "/health").send()).bodyAsJsonObject();

    assertThat(health.getString("state")).isEqualTo("failed");
    assertThat(health.getString("presence")).isEqualTo("offline");
  }
}
