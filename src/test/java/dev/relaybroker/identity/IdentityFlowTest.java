package dev.relaybroker.identity;

import dev.relaybroker.cloud.RelaycastClient;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.ReclaimPolicy;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SPEC §2 scenarios against the real emulator: given a workspace state, when a broker starts, then the
 * emulator's request log (order, credential kind, status), the end state and the event-bus messages are exactly
 * what the SPEC prescribes.
 */
class IdentityFlowTest {
  @TempDir
  Path stateDir;

  private EmulatorDriver emulator;
  private String key;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void startEmulator() {
    emulator = cloud.emulator();
    key = cloud.key();
  }

  private Machine start(BrokerOptions options) {
    return cloud.start(options);
  }

  private Machine start(String name) {
    return start(Machine.options(emulator, key, name, stateDir));
  }

  private void stop(Machine machine) {
    cloud.stop(machine);
  }

  /** A first start that registers, then a stop and a lost cache: the restart will meet a 409. */
  private String registerThenForgetTheCache(String name) throws Exception {
    Machine first = start(name);
    String agentId = first.awaitReady().getString("agentId");
    stop(first);
    Files.delete(stateDir.resolve(CredentialCache.FILE_NAME));
    emulator.clearRequests();
    return agentId;
  }

  private static String path(String name) {
    return "/v1/agents/" + RelaycastClient.encodeSegment(name);
  }

  @Test
  void freshRegistrationIsOneRequestAndPublishesTheSession() {
    Machine broker = start("alpha");

    JsonObject session = broker.awaitReady();

    assertThat(emulator.requestLines()).containsExactly("POST /v1/agents workspace-key 201");
    assertThat(session.getString("agentName")).isEqualTo("alpha");
    assertThat(session.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(session.getString("mode")).isEqualTo("persist");
    assertThat(broker.stateNames()).containsSubsequence("starting", "registering", "ready");
    assertThat(broker.resolvedSessions()).hasSize(1);
    assertThat(broker.resolvedSessions().get(0).getString("agentId")).isEqualTo(session.getString("agentId"));
    // The identity hash, never the secret, went to the cloud.
    assertThat(emulator.agent(key, "alpha").getJsonObject("metadata").getString("relay_broker_identity")).hasSize(64);
  }

  @Test
  void restartWithCacheIsExactlyOneRoundTripAndKeepsTheAgentId() {
    Machine first = start("alpha");
    String agentId = first.awaitReady().getString("agentId");
    stop(first);
    emulator.clearRequests();

    JsonObject session = start("alpha").awaitReady();

    assertThat(emulator.requestLines()).containsExactly("POST " + path("alpha") + "/rotate-token agent-token 200");
    assertThat(session.getString("agentId")).isEqualTo(agentId);
    assertThat(session.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
  }

  @Test
  void restartWithoutCacheReclaimsOwnRecordWithTakeover() throws Exception {
    String agentId = registerThenForgetTheCache("alpha");

    JsonObject session = start("alpha").awaitReady();

    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents workspace-key 409",
      "GET " + path("alpha") + " workspace-key 200",
      "POST " + path("alpha") + "/takeover workspace-key 200");
    assertThat(session.getString("agentId")).isEqualTo(agentId);
    assertThat(session.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(emulator.audit()).singleElement().satisfies(entry -> {
      assertThat(entry.getString("action")).isEqualTo("takeover");
      assertThat(entry.getString("agent_id")).isEqualTo(agentId);
    });
  }

  @Test
  void legacyEngineFallsBackToRotateTokenWithTheWorkspaceKey() throws Exception {
    emulator.setEngine(Engine.LEGACY);
    String agentId = registerThenForgetTheCache("alpha");

    JsonObject session = start("alpha").awaitReady();

    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents workspace-key 409",
      "GET " + path("alpha") + " workspace-key 200",
      "POST " + path("alpha") + "/takeover workspace-key 404",
      "POST " + path("alpha") + "/rotate-token workspace-key 200");
    assertThat(session.getString("agentId")).isEqualTo(agentId);
    assertThat(session.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
  }

  @Test
  void engineThatWantsTheAgentTokenForRotateIsReclaimUnsupported() {
    emulator.createAgent(key, "alpha", null, "offline");
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/*/takeover").put("status", 404)
      .put("code", "not_found").put("message", "Route not found").put("count", -1));

    JsonObject failed = start("alpha").awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("reclaim_unsupported");
    assertThat(failed.getString("message")).contains("'alpha'").doesNotContain(key);
    assertThat(emulator.requestLines()).last().isEqualTo("POST " + path("alpha") + "/rotate-token workspace-key 401");
  }

  @Test
  void unreadableExistingRecordStopsBeforeAnyTakeoverOrRotate() {
    emulator.createAgent(key, "alpha", null, "offline");
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/agents/*").put("status", 200)
      .put("body", "{\"unexpected\": true}").put("count", -1));

    JsonObject failed = start("alpha").awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("cloud_protocol_error");
    assertThat(failed.getString("message")).contains("alpha").contains("read existing agent");
    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents workspace-key 409",
      "GET " + path("alpha") + " workspace-key 200");
  }

  @Test
  void failingReadIsRetriedWithoutEverRotating() {
    JsonObject existing = emulator.createAgent(key, "alpha", null, "offline");
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/agents/*").put("status", 500).put("count", -1));

    Machine broker = start("alpha");
    Await.until("three read attempts", () -> emulator.requestLines().stream().filter(l -> l.startsWith("GET")).count() >= 3);

    assertThat(broker.lastState()).hasValueSatisfying(s -> assertThat(s).isIn("retrying", "reclaiming"));
    assertThat(emulator.requestLines()).noneMatch(l -> l.contains("takeover") || l.contains("rotate-token"));
    assertThat(emulator.agent(key, "alpha").getString("token")).isEqualTo(existing.getString("token"));
  }

  @Test
  void liveForeignAgentIsRefusedUnderTheDefaultPolicyWithoutTakeover() {
    JsonObject foreign = emulator.createAgent(key, "alpha", new JsonObject().put("relay_broker_identity", "f".repeat(64)), "online");

    JsonObject failed = start("alpha").awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("agent_live_elsewhere");
    assertThat(failed.getString("message")).contains("agent name 'alpha' is live on another machine").contains("--reclaim always");
    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents workspace-key 409",
      "GET " + path("alpha") + " workspace-key 200");
    assertThat(emulator.agent(key, "alpha").getString("token")).isEqualTo(foreign.getString("token"));
  }

  @Test
  void refreshAfterARefusalRunsTheFlowAgainOnceTheOtherMachineIsGone() {
    JsonObject foreign = emulator.createAgent(key, "alpha", null, "online");
    Machine broker = start("alpha");
    broker.awaitFailed();
    emulator.setStatus(key, "alpha", "offline");
    emulator.clearRequests();

    JsonObject session = broker.refresh();

    assertThat(session.getString("agentId")).isEqualTo(foreign.getString("id"));
    assertThat(broker.lastState()).contains("ready");
    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents workspace-key 409",
      "GET " + path("alpha") + " workspace-key 200",
      "POST " + path("alpha") + "/takeover workspace-key 200");
  }

  @Test
  void reclaimAlwaysSeizesALiveForeignAgent() {
    JsonObject foreign = emulator.createAgent(key, "alpha", null, "online");

    JsonObject session = start(Machine.options(emulator, key, "alpha", stateDir).setReclaim(ReclaimPolicy.ALWAYS)).awaitReady();

    assertThat(session.getString("agentId")).isEqualTo(foreign.getString("id"));
    assertThat(session.getString("token")).isNotEqualTo(foreign.getString("token"));
    assertThat(emulator.requestLines()).last().isEqualTo("POST " + path("alpha") + "/takeover workspace-key 200");
  }

  @Test
  void reclaimOwnRefusesAnOfflineForeignAgent() {
    emulator.createAgent(key, "alpha", null, "offline");

    JsonObject failed = start(Machine.options(emulator, key, "alpha", stateDir).setReclaim(ReclaimPolicy.OWN)).awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("agent_name_conflict");
    assertThat(failed.getString("message")).contains("belongs to another installation");
    assertThat(emulator.requestLines()).noneMatch(l -> l.contains("takeover") || l.contains("rotate-token"));
  }

  @Test
  void defaultPolicyTakesOverAnOfflineForeignAgent() {
    JsonObject foreign = emulator.createAgent(key, "alpha", null, "offline");

    JsonObject session = start("alpha").awaitReady();

    assertThat(session.getString("agentId")).isEqualTo(foreign.getString("id"));
    assertThat(emulator.requestLines()).hasSize(3).last().isEqualTo("POST " + path("alpha") + "/takeover workspace-key 200");
  }

  @Test
  void nonStrictNameGetsOneSuffixRetry() {
    emulator.createAgent(key, "alpha", null, "online");

    JsonObject session = start(Machine.options(emulator, key, "alpha", stateDir).setMode(BrokerMode.EPHEMERAL)).awaitReady();

    assertThat(session.getString("agentName")).matches("alpha-[0-9a-f]{8}");
    assertThat(emulator.requestLines()).containsExactly("POST /v1/agents workspace-key 409", "POST /v1/agents workspace-key 201");
  }

  @Test
  void nonStrictSecondConflictFailsWithTheCause() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 409)
      .put("code", "agent_already_exists").put("count", 2));

    JsonObject failed = start(Machine.options(emulator, key, "alpha", stateDir).setMode(BrokerMode.EPHEMERAL)).awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("agent_name_conflict");
    assertThat(failed.getString("message")).contains("'alpha'").contains("both taken");
    assertThat(emulator.requestLines()).containsExactly("POST /v1/agents workspace-key 409", "POST /v1/agents workspace-key 409");
  }

  @Test
  void agentNotFoundOnTakeoverIsAFailureNotALegacyFallback() {
    emulator.createAgent(key, "alpha", null, "offline");
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/*/takeover").put("status", 404)
      .put("code", "agent_not_found").put("count", 1));

    JsonObject failed = start("alpha").awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("agent_not_found");
    assertThat(failed.getString("message")).contains("takeover");
    assertThat(emulator.requestLines()).noneMatch(l -> l.contains("rotate-token"));
  }

  @Test
  void rejectedWorkspaceKeyFailsAtOnceWithoutRetry() {
    JsonObject failed = start(Machine.options(emulator, EmulatorDriver.randomKey(), "alpha", stateDir)).awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("workspace_key_rejected");
    assertThat(failed.getString("message")).contains("'alpha'").contains("register");
    assertThat(emulator.requestLines()).containsExactly("POST /v1/agents workspace-key 401");
  }

  @Test
  void rateLimitHonoursRetryAfterThenSucceeds() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 429).put("retry_after", 1).put("count", 1));

    Machine broker = start("alpha");
    broker.awaitReady();

    JsonObject retrying = broker.states().stream().filter(s -> "retrying".equals(s.getString("state"))).findFirst().orElseThrow();
    assertThat(retrying.getLong("delayMs")).isGreaterThanOrEqualTo(1000);
    assertThat(retrying.getString("message")).contains("register").contains("retrying in");
    assertThat(emulator.requestLines()).containsExactly("POST /v1/agents workspace-key 429", "POST /v1/agents workspace-key 201");
  }

  @Test
  void serverErrorsAreRetriedWithBackoffUntilSuccess() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 503).put("count", 2));

    Machine broker = start("alpha");
    broker.awaitReady();

    assertThat(broker.states().stream().filter(s -> "retrying".equals(s.getString("state"))).map(s -> s.getInteger("attempt")))
      .containsExactly(1, 2);
    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents workspace-key 503", "POST /v1/agents workspace-key 503", "POST /v1/agents workspace-key 201");
  }

  @Test
  void threeBackToBackStartsReuseTheAgentIdAndRotateTheTokenEachTime() throws Exception {
    Set<String> ids = new HashSet<>();
    Set<String> tokens = new HashSet<>();
    for (int run = 0; run < 3; run++) {
      // Without the cache each start hits the 409 that once killed the broker.
      Files.deleteIfExists(stateDir.resolve(CredentialCache.FILE_NAME));
      Machine broker = start("alpha");
      JsonObject session = broker.awaitReady();
      ids.add(session.getString("agentId"));
      tokens.add(session.getString("token"));
      assertThat(session.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
      stop(broker);
    }
    assertThat(ids).hasSize(1);
    assertThat(tokens).hasSize(3);
    assertThat(emulator.audit()).hasSize(2);
  }

  @ParameterizedTest
  @ValueSource(strings = {"my agent", "team/backend", "café ünïcode 日本", "plus+and%percent"})
  void awkwardNamesAreEncodedAndReclaimed(String name) throws Exception {
    String agentId = registerThenForgetTheCache(name);

    JsonObject session = start(name).awaitReady();

    assertThat(session.getString("agentId")).isEqualTo(agentId);
    assertThat(session.getString("agentName")).isEqualTo(name);
    assertThat(emulator.requestLines()).contains("GET " + path(name) + " workspace-key 200");
    assertThat(path(name)).as("one ASCII path segment").matches("/v1/agents/[\\x21-\\x2e\\x30-\\x7e]+");
  }

  @Test
  void deadCachedTokenReclaimsTheNameWithoutRegisteringFirst() throws Exception {
    Machine first = start("alpha");
    String agentId = first.awaitReady().getString("agentId");
    stop(first);
    // Someone rotated the token meanwhile (an admin, another tool): the cached one is dead.
    JsonObject cache = new JsonObject(Files.readString(stateDir.resolve(CredentialCache.FILE_NAME)));
    cache.put("agent_token", "at_live_" + "0".repeat(32));
    Files.writeString(stateDir.resolve(CredentialCache.FILE_NAME), cache.encode());
    emulator.clearRequests();

    JsonObject session = start("alpha").awaitReady();

    assertThat(session.getString("agentId")).isEqualTo(agentId);
    // The same dead-token rule as a refresh (step 7): a strict name is reclaimed at once, no 409 needed to learn it exists.
    assertThat(emulator.requestLines()).containsExactly(
      "POST " + path("alpha") + "/rotate-token agent-token 401",
      "GET " + path("alpha") + " workspace-key 200",
      "POST " + path("alpha") + "/takeover workspace-key 200");
  }

  @Test
  void corruptCacheIsIgnoredAndTheNameReclaimed() throws Exception {
    Machine first = start("alpha");
    String agentId = first.awaitReady().getString("agentId");
    stop(first);
    Files.writeString(stateDir.resolve(CredentialCache.FILE_NAME), "{\"agent_token\": \"at_li");

    assertThat(start("alpha").awaitReady().getString("agentId")).isEqualTo(agentId);
  }

  @Test
  void refreshRollsTheTokenOverAndRequestsDuringAReclaimJoinIt() throws Exception {
    Machine first = start("alpha");
    first.awaitReady();
    stop(first);
    Files.delete(stateDir.resolve(CredentialCache.FILE_NAME));
    emulator.clearRequests();
    emulator.fault(new JsonObject().put("kind", "delay").put("method", "GET").put("path", "/v1/agents/*").put("delay_ms", 400));

    Machine broker = start("alpha");
    Await.until("reclaiming", () -> broker.lastState().filter("reclaiming"::equals).isPresent());
    List<io.vertx.core.Future<io.vertx.core.eventbus.Message<JsonObject>>> racing = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      racing.add(broker.vertx().eventBus().request(dev.relaybroker.bus.Addresses.SESSION_REFRESH, new JsonObject()));
    }
    Await.await(io.vertx.core.Future.all(racing));
    JsonObject joined = broker.session();

    assertThat(racing).allSatisfy(r -> assertThat(r.result().body().getString("token")).isEqualTo(joined.getString("token")));
    assertThat(joined.getString("token")).isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(emulator.requestLines().stream().filter(l -> l.contains("takeover"))).hasSize(1);
    assertThat(emulator.requestLines().stream().filter(l -> l.contains("rotate-token"))).isEmpty();

    emulator.clearRequests();
    JsonObject refreshed = broker.refresh();
    assertThat(refreshed.getString("token")).isNotEqualTo(joined.getString("token"))
      .isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(emulator.requestLines()).containsExactly("POST " + path("alpha") + "/rotate-token agent-token 200");
  }

  @Test
  void refreshAfterTheTokenWasTakenReclaimsTheName() {
    Machine broker = start("alpha");
    broker.awaitReady();
    // Another tool rolls the token over behind the broker's back.
    emulator.admin("POST", "/_emulator/agents/status", new JsonObject().put("workspace_key", key).put("name", "alpha").put("status", "offline"), 200);
    String stolen = Await.await(io.vertx.ext.web.client.WebClient.create(emulator.vertx())
      .postAbs(emulator.baseUrl() + "/v1/agents/alpha/rotate-token")
      .bearerTokenAuthentication(broker.session().getString("token")).send()).bodyAsJsonObject().getJsonObject("data").getString("token");
    emulator.clearRequests();

    JsonObject refreshed = broker.refresh();

    assertThat(refreshed.getString("token")).isNotEqualTo(stolen).isEqualTo(emulator.agent(key, "alpha").getString("token"));
    assertThat(emulator.requestLines()).containsExactly(
      "POST " + path("alpha") + "/rotate-token agent-token 401",
      "GET " + path("alpha") + " workspace-key 200",
      "POST " + path("alpha") + "/takeover workspace-key 200");
  }

  @Test
  void sessionGetFailsWithTheCauseWhenTheCloudRefused() {
    Machine broker = start(Machine.options(emulator, EmulatorDriver.randomKey(), "alpha", stateDir));
    broker.awaitFailed();

    Throwable failure = Await.awaitFailure(broker.vertx().eventBus().request(dev.relaybroker.bus.Addresses.SESSION_GET, new JsonObject()));

    assertThat(failure).isInstanceOf(io.vertx.core.eventbus.ReplyException.class);
    assertThat(((io.vertx.core.eventbus.ReplyException) failure).failureCode()).isEqualTo(502);
    assertThat(failure.getMessage()).startsWith("workspace_key_rejected: ");
  }

  @Test
  void firstRunWithABaseUrlAndNoKeyCreatesAWorkspaceOnceAndReusesIt() {
    BrokerOptions options = Machine.options(emulator, null, "alpha", stateDir);
    Machine first = start(options);
    String agentId = first.awaitReady().getString("agentId");
    stop(first);

    // The stop marks the agent offline (SPEC §2 step 8).
    assertThat(emulator.requestLines()).containsExactly("POST /v1/workspaces none 201", "POST /v1/agents workspace-key 201",
      "PATCH " + path("alpha") + " workspace-key 200");
    emulator.clearRequests();

    Machine second = start(options);
    assertThat(second.awaitReady().getString("agentId")).isEqualTo(agentId);
    assertThat(emulator.requestLines()).containsExactly("POST " + path("alpha") + "/rotate-token agent-token 200");
  }

  @Test
  void stateFilesAreOwnerOnly() throws Exception {
    start("alpha").awaitReady();

    for (String file : List.of(CredentialCache.FILE_NAME, IdentitySecret.FILE_NAME)) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stateDir.resolve(file)))).isEqualTo("rw-------");
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stateDir))).isEqualTo("rwx------");
    assertThat(Files.size(stateDir.resolve(IdentitySecret.FILE_NAME))).isEqualTo(32);
    JsonObject cache = new JsonObject(Files.readString(stateDir.resolve(CredentialCache.FILE_NAME)));
    assertThat(cache.fieldNames()).contains("base_url", "workspace_id", "workspace_key", "agent_id", "agent_name", "agent_token", "updated_at");
  }
}
