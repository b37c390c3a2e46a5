package dev.relaybroker.emulator;

import dev.relaybroker.support.Await;
import dev.relaybroker.support.CapturedLogs;
import dev.relaybroker.support.EmulatorDriver;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static dev.relaybroker.support.Await.await;
import static dev.relaybroker.support.Await.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

/** The emulator as a plain HTTP client sees it: routes of both engines, quirks, credentials, faults, admin API. */
class EmulatorApiTest {
  private EmulatorDriver emulator;
  private WebClient client;

  private void start(Engine engine) {
    emulator = EmulatorDriver.start(engine);
    client = WebClient.create(emulator.vertx(), new WebClientOptions().setKeepAlive(false));
  }

  @AfterEach
  void stop() {
    if (emulator != null) {
      client.close();
      emulator.close();
    }
  }

  private HttpResponse<Buffer> call(HttpMethod method, String path, String bearer, JsonObject body) {
    var request = client.requestAbs(method, emulator.baseUrl() + path);
    if (bearer != null) {
      request.bearerTokenAuthentication(bearer);
    }
    return await(body == null ? request.send() : request.sendJsonObject(body));
  }

  private static JsonObject data(HttpResponse<Buffer> response) {
    JsonObject body = response.bodyAsJsonObject();
    assertThat(body.getBoolean("ok")).as("envelope ok").isTrue();
    return body.getJsonObject("data");
  }

  private static void assertError(HttpResponse<Buffer> response, int status, String code) {
    assertThat(response.statusCode()).isEqualTo(status);
    JsonObject body = response.bodyAsJsonObject();
    assertThat(body.getBoolean("ok")).isFalse();
    assertThat(body.getJsonObject("error").getString("code")).isEqualTo(code);
    assertThat(body.getJsonObject("error").getString("message")).isNotBlank();
  }

  private JsonObject register(String key, String name) {
    HttpResponse<Buffer> response = call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", name).put("type", "agent"));
    assertThat(response.statusCode()).isEqualTo(201);
    return data(response);
  }

  @ParameterizedTest
  @EnumSource(Engine.class)
  void registerAnswersWithoutWorkspaceIdAndAConflictIs409(Engine engine) {
    start(engine);
    String key = emulator.createWorkspace();

    JsonObject agent = register(key, "alpha");

    assertThat(agent.fieldNames()).containsExactlyInAnyOrder("id", "name", "token", "status", "created_at");
    assertThat(agent.getString("token")).startsWith("at_live_");
    assertError(call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", "alpha")), 409, "agent_already_exists");
  }

  @ParameterizedTest
  @EnumSource(Engine.class)
  void agentGetIsLeanLikeTheLiveCloud(Engine engine) {
    start(engine);
    String key = emulator.createWorkspace();
    JsonObject created = register(key, "team/back end");

    JsonObject record = data(call(HttpMethod.GET, "/v1/agents/team%2Fback%20end", key, null));

    assertThat(record.getString("id")).isEqualTo(created.getString("id"));
    assertThat(record.getString("name")).isEqualTo("team/back end");
    assertThat(record.fieldNames()).doesNotContain("workspace_id", "token_hash", "created_at", "token")
      .contains("id", "name", "type", "status", "persona", "metadata", "last_seen", "channels");
    assertError(call(HttpMethod.GET, "/v1/agents/nobody", key, null), 404, "agent_not_found");
  }

  /** The drift 12.4.1 met: it decodes the current engine's memberships strictly and refused plain names at start. */
  @Test
  void currentEngineListsChannelMembershipsAsObjectsAndTheLegacyEngineAsNames() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    String token = register(key, "alpha").getString("token");
    String channelId = data(call(HttpMethod.POST, "/v1/channels", token, new JsonObject().put("name", "general"))).getString("id");
    assertThat(call(HttpMethod.POST, "/v1/channels/general/join", token, new JsonObject()).statusCode()).isEqualTo(200);

    for (JsonObject record : new JsonObject[] {data(call(HttpMethod.GET, "/v1/agents/alpha", key, null)),
      data(call(HttpMethod.GET, "/v1/agent", token, null))}) {
      JsonObject membership = record.getJsonArray("channels").getJsonObject(0);
      assertThat(membership.fieldNames()).containsExactlyInAnyOrder("id", "name", "role", "joined_at");
      assertThat(membership.getString("id")).isEqualTo(channelId);
      assertThat(membership.getString("name")).isEqualTo("general");
      assertThat(membership.getString("role")).isEqualTo("member");
      assertThat(membership.getString("joined_at")).isNotBlank();
    }

    await(client.postAbs(emulator.baseUrl() + "/_emulator/engine").sendJsonObject(new JsonObject().put("engine", "legacy")));
    assertThat(data(call(HttpMethod.GET, "/v1/agents/alpha", key, null)).getJsonArray("channels")).containsExactly("general");
  }

  @Test
  void twelveFourOnesStartRoutesGetDeliberateAnswersAndAnUnknownRouteIsAWarning() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    String token = register(key, "alpha").getString("token");
    call(HttpMethod.POST, "/v1/channels", token, new JsonObject().put("name", "general"));
    call(HttpMethod.POST, "/v1/channels/general/join", token, new JsonObject());
    int mark = CapturedLogs.mark();

    JsonObject muted = data(call(HttpMethod.POST, "/v1/channels/general/mute", token, new JsonObject()));
    assertThat(muted.getBoolean("muted")).isTrue();
    assertError(call(HttpMethod.POST, "/v1/channels/elsewhere/mute", token, new JsonObject()), 404, "channel_not_found");
    assertError(call(HttpMethod.POST, "/v1/nodes", key, new JsonObject()), 404, "not_found");
    assertThat(CapturedLogs.since(mark)).as("known routes warn about nothing").noneMatch(line -> line.contains("no route"));

    assertError(call(HttpMethod.GET, "/v1/brand-new-route", key, null), 404, "not_found");
    assertThat(CapturedLogs.since(mark)).anyMatch(line -> line.contains("no route GET /v1/brand-new-route"));
  }

  @Test
  void aTakenPortIsNamedInTheFailure() {
    start(Engine.CURRENT);

    Throwable failure = awaitFailure(emulator.vertx().deployVerticle(
      new EmulatorVerticle(new EmulatorOptions().setPort(emulator.port()))));

    assertThat(failure.getMessage()).contains("127.0.0.1:" + emulator.port()).contains("address already in use");
  }

  @Test
  void currentEngineRotatesOnlyWithTheAgentsOwnToken() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    JsonObject alpha = register(key, "alpha");
    JsonObject beta = register(key, "beta");

    assertError(call(HttpMethod.POST, "/v1/agents/alpha/rotate-token", key, null), 401, "agent_token_required");
    assertError(call(HttpMethod.POST, "/v1/agents/alpha/rotate-token", beta.getString("token"), null), 403, "forbidden");
    JsonObject rotated = data(call(HttpMethod.POST, "/v1/agents/alpha/rotate-token", alpha.getString("token"), null));

    assertThat(rotated.getString("token")).isNotEqualTo(alpha.getString("token"));
    assertError(call(HttpMethod.POST, "/v1/agents/alpha/rotate-token", alpha.getString("token"), null), 401, "unauthorized");
    assertThat(data(call(HttpMethod.GET, "/v1/agent", rotated.getString("token"), null)).getString("name")).isEqualTo("alpha");
  }

  @Test
  void legacyEngineRotatesWithTheWorkspaceKeyAndHasNoTakeover() {
    start(Engine.LEGACY);
    String key = emulator.createWorkspace();
    JsonObject alpha = register(key, "alpha");

    JsonObject rotated = data(call(HttpMethod.POST, "/v1/agents/alpha/rotate-token", key, null));

    assertThat(rotated.getString("token")).isNotEqualTo(alpha.getString("token"));
    HttpResponse<Buffer> takeover = call(HttpMethod.POST, "/v1/agents/alpha/takeover", key,
      new JsonObject().put("expected_agent_id", alpha.getString("id")));
    assertError(takeover, 404, "not_found");
    assertThat(takeover.bodyAsJsonObject().getJsonObject("error").getString("message")).isEqualTo("Route not found");
    assertError(call(HttpMethod.POST, "/v1/agents/alpha/recover", key, new JsonObject()), 404, "not_found");
  }

  @Test
  void currentEngineTakeoverChecksTheIdKeepsItRotatesAndAudits() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    JsonObject alpha = register(key, "alpha");

    assertError(call(HttpMethod.POST, "/v1/agents/alpha/takeover", key, new JsonObject().put("expected_agent_id", "agt_other")),
      409, "agent_id_mismatch");
    assertError(call(HttpMethod.POST, "/v1/agents/alpha/takeover", key, new JsonObject()), 400, "invalid_request");
    assertError(call(HttpMethod.POST, "/v1/agents/ghost/takeover", key, new JsonObject().put("expected_agent_id", "x")),
      404, "agent_not_found");
    JsonObject taken = data(call(HttpMethod.POST, "/v1/agents/alpha/takeover", key, new JsonObject()
      .put("expected_agent_id", alpha.getString("id")).put("actor", "test").put("reason", "why").put("node_id", "n1")));
    JsonObject recovered = data(call(HttpMethod.POST, "/v1/agents/alpha/recover", key, new JsonObject()
      .put("expected_agent_id", alpha.getString("id"))));

    assertThat(taken.getString("agent_id")).isEqualTo(alpha.getString("id"));
    assertThat(taken.getString("token")).isNotEqualTo(alpha.getString("token"));
    assertThat(recovered.getString("token")).isNotEqualTo(taken.getString("token"));
    assertThat(emulator.audit()).extracting(a -> a.getString("action")).containsExactly("takeover", "recover");
    assertThat(emulator.audit().get(0).getString("audit_id")).isEqualTo(taken.getString("audit_id"));
    assertThat(emulator.audit().get(0).getString("node_id")).isEqualTo("n1");
    // The superseded tokens are dead.
    assertError(call(HttpMethod.GET, "/v1/agent", alpha.getString("token"), null), 401, "unauthorized");
  }

  @Test
  void credentialsAreChecked() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    String otherKey = emulator.createWorkspace();
    register(key, "alpha");

    assertError(call(HttpMethod.POST, "/v1/agents", null, new JsonObject().put("name", "x")), 401, "unauthorized");
    assertError(call(HttpMethod.POST, "/v1/agents", EmulatorDriver.randomKey(), new JsonObject().put("name", "x")), 401, "unauthorized");
    assertError(call(HttpMethod.GET, "/v1/agents/alpha", otherKey, null), 404, "agent_not_found");
    assertError(call(HttpMethod.GET, "/v1/channels", "at_live_nope", null), 401, "unauthorized");
    assertThat(call(HttpMethod.GET, "/v1/channels", key, null).bodyAsJsonObject().getJsonArray("data")).as("no channel yet").isEmpty();
  }

  @Test
  void workspacesAreCreatedWithoutAuthAndNamesAreUnique() {
    start(Engine.CURRENT);

    HttpResponse<Buffer> created = call(HttpMethod.POST, "/v1/workspaces", null, new JsonObject().put("name", "relay-1a2b3c4d"));

    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(data(created).getString("api_key")).startsWith("rk_live_");
    assertThat(data(created).fieldNames()).containsExactlyInAnyOrder("workspace_id", "api_key", "created_at");
    assertError(call(HttpMethod.POST, "/v1/workspaces", null, new JsonObject().put("name", "relay-1a2b3c4d")), 409, "name_taken");
    register(data(created).getString("api_key"), "alpha");
  }

  @Test
  void badInputGetsA400EnvelopeNeverAStackTrace() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();

    HttpResponse<Buffer> notJson = await(client.postAbs(emulator.baseUrl() + "/v1/agents").bearerTokenAuthentication(key)
      .sendBuffer(Buffer.buffer("{name: nope")));
    assertError(notJson, 400, "invalid_request");
    assertError(call(HttpMethod.POST, "/v1/agents", key, new JsonObject()), 400, "invalid_request");
    assertError(call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", 42)), 400, "invalid_request");
    assertError(call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", "a\u0000b")), 400, "invalid_request");
    assertError(call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", "ok").put("metadata", "str")), 400, "invalid_request");
    HttpResponse<Buffer> huge = await(client.postAbs(emulator.baseUrl() + "/v1/agents").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("name", "x".repeat(100_000))));
    assertError(huge, 413, "payload_too_large");
    assertError(call(HttpMethod.GET, "/v1/agents/%zz", key, null), 400, "invalid_request");
    assertError(call(HttpMethod.DELETE, "/v1/agents/alpha", key, null), 404, "not_found");
    assertThat(notJson.bodyAsString()).doesNotContain("Exception").doesNotContain("\tat ");
  }

  @Test
  void statusFaultsAnswerTheirStatusEnvelopeAndRetryAfterForTheNextNRequests() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 429).put("retry_after", 7).put("count", 2));

    HttpResponse<Buffer> first = call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", "a"));
    HttpResponse<Buffer> second = call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", "a"));
    HttpResponse<Buffer> third = call(HttpMethod.POST, "/v1/agents", key, new JsonObject().put("name", "a"));

    assertError(first, 429, "rate_limited");
    assertThat(first.getHeader("Retry-After")).isEqualTo("7");
    assertError(second, 429, "rate_limited");
    assertThat(third.statusCode()).isEqualTo(201);
  }

  @Test
  void customBodyHtmlMalformedAndEmptyFaults() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    emulator.fault(new JsonObject().put("path", "/v1/channels").put("status", 200).put("body", "{\"hello\":1}"));
    emulator.fault(new JsonObject().put("path", "/v1/channels").put("kind", "html"));
    emulator.fault(new JsonObject().put("path", "/v1/channels").put("kind", "malformed"));
    emulator.fault(new JsonObject().put("path", "/v1/channels").put("kind", "empty"));

    assertThat(call(HttpMethod.GET, "/v1/channels", key, null).bodyAsJsonObject().getInteger("hello")).isEqualTo(1);
    HttpResponse<Buffer> html = call(HttpMethod.GET, "/v1/channels", key, null);
    assertThat(html.statusCode()).isEqualTo(200);
    assertThat(html.getHeader("Content-Type")).contains("text/html");
    HttpResponse<Buffer> malformed = call(HttpMethod.GET, "/v1/channels", key, null);
    assertThat(malformed.statusCode()).isEqualTo(200);
    assertThat(malformed.bodyAsString()).startsWith("{").doesNotEndWith("}");
    HttpResponse<Buffer> empty = call(HttpMethod.GET, "/v1/channels", key, null);
    assertThat(empty.statusCode()).isEqualTo(200);
    assertThat(empty.body() == null || empty.body().length() == 0).isTrue();
    assertThat(call(HttpMethod.GET, "/v1/channels", key, null).bodyAsJsonObject().getBoolean("ok")).isTrue();
  }

  @Test
  void resetAndDelayFaults() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    emulator.fault(new JsonObject().put("path", "/v1/channels").put("kind", "reset"));
    emulator.fault(new JsonObject().put("path", "/v1/channels").put("kind", "delay").put("delay_ms", 300));

    Throwable reset = awaitFailure(client.getAbs(emulator.baseUrl() + "/v1/channels").bearerTokenAuthentication(key).send());
    long start = System.nanoTime();
    HttpResponse<Buffer> delayed = call(HttpMethod.GET, "/v1/channels", key, null);

    assertThat(reset.getMessage()).containsIgnoringCase("closed");
    assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(290);
    assertThat(delayed.statusCode()).isEqualTo(200);
    emulator.fault(new JsonObject().put("path", "/v1/channels").put("kind", "delay").put("delay_ms", 1000));
    Throwable timeout = awaitFailure(client.getAbs(emulator.baseUrl() + "/v1/channels").bearerTokenAuthentication(key).timeout(200).send());
    assertThat(timeout.getMessage()).containsIgnoringCase("timeout");
  }

  @Test
  void requestLogRecordsMethodPathCredentialKindStatusAndTime() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    JsonObject alpha = register(key, "my agent");
    call(HttpMethod.GET, "/v1/agents/my%20agent", key, null);
    call(HttpMethod.POST, "/v1/agents/my%20agent/rotate-token", alpha.getString("token"), null);
    call(HttpMethod.POST, "/v1/workspaces", null, new JsonObject());

    assertThat(emulator.requestLines()).containsExactly(
      "POST /v1/agents workspace-key 201",
      "GET /v1/agents/my%20agent workspace-key 200",
      "POST /v1/agents/my%20agent/rotate-token agent-token 200",
      "POST /v1/workspaces none 400");
    assertThat(emulator.requests()).allSatisfy(r -> assertThat(r.getString("at")).isNotBlank());
    emulator.clearRequests();
    assertThat(emulator.requests()).isEmpty();
  }

  @Test
  void adminApiRejectsBadInputAndResetClearsEverything() {
    start(Engine.CURRENT);
    String key = emulator.createWorkspace();
    register(key, "alpha");

    assertError(post("/_emulator/faults", new JsonObject().put("kind", "explode").put("status", "x").put("count", -5)), 400, "invalid_request");
    assertThat(post("/_emulator/faults", new JsonObject().put("kind", "explode").put("status", "x")).bodyAsJsonObject()
      .getJsonObject("error").getString("message")).contains("kind").contains("status");
    assertError(post("/_emulator/workspaces", new JsonObject().put("api_key", "nope")), 400, "invalid_request");
    assertError(post("/_emulator/workspaces", new JsonObject().put("api_key", key)), 409, "conflict");
    assertError(post("/_emulator/agents", new JsonObject().put("workspace_key", "rk_test_unknown").put("name", "a")), 404, "workspace_not_found");
    assertError(post("/_emulator/agents/status", new JsonObject().put("workspace_key", key).put("name", "alpha").put("status", "dancing")),
      400, "invalid_request");
    assertError(post("/_emulator/engine", new JsonObject().put("engine", "v3")), 400, "invalid_request");
    HttpResponse<Buffer> garbage = await(client.postAbs(emulator.baseUrl() + "/_emulator/faults").sendBuffer(Buffer.buffer("[1,2")));
    assertError(garbage, 400, "invalid_request");

    emulator.setStatus(key, "alpha", "online");
    assertThat(data(call(HttpMethod.GET, "/v1/agents/alpha", key, null)).getString("status")).isEqualTo("online");
    emulator.admin("POST", "/_emulator/reset", new JsonObject(), 200);
    assertError(call(HttpMethod.GET, "/v1/agents/alpha", key, null), 401, "unauthorized");
  }

  @Test
  void stateFileKeepsWorkspacesAndAgentsAcrossRestartsAndIsOwnerOnly(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("emulator.json");
    EmulatorDriver first = EmulatorDriver.start(new EmulatorOptions().setStateFile(file.toString()));
    String key = first.createWorkspace();
    first.createAgent(key, "alpha", new JsonObject().put("k", "v"), "online");
    String token = first.agent(key, "alpha").getString("token");
    WebClient web = WebClient.create(first.vertx());
    assertThat(await(web.postAbs(first.baseUrl() + "/v1/channels").bearerTokenAuthentication(token)
      .sendJsonObject(new JsonObject().put("name", "general"))).statusCode()).isEqualTo(201);
    assertThat(await(web.postAbs(first.baseUrl() + "/v1/channels").bearerTokenAuthentication(token)
      .sendJsonObject(new JsonObject().put("name", "general"))).statusCode()).as("exists").isEqualTo(409);
    JsonObject joined = await(web.postAbs(first.baseUrl() + "/v1/channels/general/join").bearerTokenAuthentication(token)
      .sendJsonObject(new JsonObject())).bodyAsJsonObject().getJsonObject("data");
    assertThat(joined.getBoolean("already_member")).isFalse();
    assertThat(await(web.requestAbs(HttpMethod.PATCH, first.baseUrl() + "/v1/agents/alpha").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("status", "offline"))).bodyAsJsonObject().getJsonObject("data").getString("status"))
      .isEqualTo("offline");
    web.close();
    first.close();

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    emulator = EmulatorDriver.start(new EmulatorOptions().setStateFile(file.toString()));
    client = WebClient.create(emulator.vertx());
    JsonObject alpha = emulator.agent(key, "alpha");
    assertThat(alpha.getString("token")).isEqualTo(token);
    assertThat(alpha.getString("status")).as("nobody is connected after a restart").isEqualTo("offline");
    assertThat(alpha.getJsonObject("metadata").getString("k")).isEqualTo("v");
    assertThat(alpha.getJsonArray("channels")).as("channel membership survives too").containsExactly("general");
    // The token history too: a soak across cloud restarts checks each served token against it.
    assertThat(emulator.admin("POST", "/_emulator/agents/tokens", new JsonObject().put("workspace_key", key).put("name", "alpha"), 200)
      .getJsonArray("data").getJsonObject(0).getString("token")).isEqualTo(token);
  }

  @Test
  void damagedStateFileStartsEmptyInsteadOfCrashing(@TempDir Path dir) throws Exception {
    // A state file cut off mid-write (a crash while saving): it held a workspace with an agent.
    Path file = dir.resolve("emulator.json");
    EmulatorDriver first = EmulatorDriver.start(new EmulatorOptions().setStateFile(file.toString()));
    String oldKey = first.createWorkspace();
    first.createAgent(oldKey, "alpha", new JsonObject(), "online");
    first.close();
    String saved = Files.readString(file);
    assertThat(saved).contains(oldKey);
    Files.writeString(file, saved.substring(0, saved.length() / 2));

    emulator = EmulatorDriver.start(new EmulatorOptions().setStateFile(file.toString()));
    client = WebClient.create(emulator.vertx());

    assertError(call(HttpMethod.GET, "/v1/agents/alpha", oldKey, null), 401, "unauthorized");
    String newKey = emulator.createWorkspace();
    assertThat(call(HttpMethod.POST, "/v1/agents", newKey, new JsonObject().put("name", "beta")).statusCode()).isEqualTo(201);
    // The next save replaces the damaged file with the new, empty-but-for-beta state.
    Await.until("the state file rewritten", () -> {
      try {
        return new JsonObject(Files.readString(file)).encode().contains("\"beta\"");
      } catch (Exception unreadableYet) {
        return false;
      }
    });
    assertThat(Files.readString(file)).doesNotContain(oldKey).contains(newKey);
    assertThat(Files.readString(dir.resolve("emulator.json.unreadable"))).as("the damaged file, kept aside").contains(oldKey);
  }

  /**
   * One bad entry in a state file (edited by hand, written by another version) must not cost the good ones: before,
   * the load stopped at the bad entry, kept what came before it, said "starting empty", and the next save wrote the
   * half over the whole.
   */
  @Test
  void aStateFileWithBadEntriesLoadsEveryGoodOneAndKeepsTheOriginalAside(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("emulator.json");
    JsonObject agentShape = new JsonObject().put("type", "agent").put("created_at", "2026-01-01T00:00:00Z").put("metadata", new JsonObject());
    JsonObject state = new JsonObject().put("workspaces", new io.vertx.core.json.JsonArray()
      .add(new JsonObject().put("id", "ws_one").put("name", "one").put("api_key", "rk_live_one").put("created_at", "2026-01-01T00:00:00Z")
        .put("agents", new io.vertx.core.json.JsonArray()
          .add(agentShape.copy().put("id", "agt_alpha").put("name", "alpha").put("token", "at_live_alpha"))
          .add("not an agent")
          .add(agentShape.copy().put("id", "agt_nameless").put("token", "at_live_nameless"))
          .add(agentShape.copy().put("id", "agt_beta").put("name", "beta").put("token", "at_live_beta"))))
      .add(42)
      .add(new JsonObject().put("id", "ws_two").put("name", "two").put("api_key", "rk_live_two").put("created_at", "2026-01-01T00:00:00Z")
        .put("agents", new io.vertx.core.json.JsonArray()
          .add(agentShape.copy().put("id", "agt_gamma").put("name", "gamma").put("token", "at_live_gamma")))));
    Files.writeString(file, state.encode());

    emulator = EmulatorDriver.start(new EmulatorOptions().setStateFile(file.toString()));
    client = WebClient.create(emulator.vertx());

    assertThat(emulator.agent("rk_live_one", "alpha")).as("before the bad entries").isNotNull();
    assertThat(emulator.agent("rk_live_one", "beta")).as("after the bad entries, same workspace").isNotNull();
    assertThat(emulator.agent("rk_live_two", "gamma")).as("after a bad workspace").isNotNull();
    Path aside = dir.resolve("emulator.json.unreadable");
    assertThat(aside).as("the original, kept before any save rewrites the file").exists();
    assertThat(new JsonObject(Files.readString(aside))).isEqualTo(state);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(aside))).isEqualTo("rw-------");
  }

  private HttpResponse<Buffer> post(String path, JsonObject body) {
    return call(HttpMethod.POST, path, null, body);
  }
}
