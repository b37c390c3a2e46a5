package dev.relaybroker.support;

import dev.relaybroker.emulator.Engine;
import dev.relaybroker.emulator.EmulatorOptions;
import dev.relaybroker.emulator.EmulatorVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;

import static dev.relaybroker.support.Await.await;

/** The real emulator on an ephemeral loopback port, driven through its admin API as any test tool would. */
public final class EmulatorDriver implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Vertx vertx;
  private final EmulatorVerticle verticle;
  private final WebClient web;
  private final String deploymentId;

  private EmulatorDriver(Vertx vertx, EmulatorVerticle verticle, String deploymentId) {
    this.vertx = vertx;
    this.verticle = verticle;
    this.deploymentId = deploymentId;
    this.web = WebClient.create(vertx);
  }

  public static EmulatorDriver start(Engine engine) {
    return start(new EmulatorOptions().setEngine(engine));
  }

  public static EmulatorDriver start(EmulatorOptions options) {
    Vertx vertx = Vertx.vertx(TestVertx.options());
    EmulatorVerticle verticle = new EmulatorVerticle(options);
    String id = await(vertx.deployVerticle(verticle));
    return new EmulatorDriver(vertx, verticle, id);
  }

  public String baseUrl() {
    return verticle.baseUrl();
  }

  public int port() {
    return verticle.actualPort();
  }

  public Vertx vertx() {
    return vertx;
  }

  public static String randomKey() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return "rk_test_" + HexFormat.of().formatHex(bytes);
  }

  /** A new workspace; returns its key. */
  public String createWorkspace() {
    String key = randomKey();
    admin("POST", "/_emulator/workspaces", new JsonObject().put("api_key", key), 201);
    return key;
  }

  public JsonObject createAgent(String workspaceKey, String name, JsonObject metadata, String status) {
    JsonObject body = new JsonObject().put("workspace_key", workspaceKey).put("name", name).put("status", status);
    if (metadata != null) {
      body.put("metadata", metadata);
    }
    return admin("POST", "/_emulator/agents", body, 201).getJsonObject("data");
  }

  public void setStatus(String workspaceKey, String name, String status) {
    admin("POST", "/_emulator/agents/status", new JsonObject().put("workspace_key", workspaceKey).put("name", name).put("status", status), 200);
  }

  /** Adds a fault rule (see README: kind, method, path, status, code, body, delay_ms, retry_after, count). */
  public void fault(JsonObject rule) {
    admin("POST", "/_emulator/faults", rule, 201);
  }

  public void clearFaults() {
    admin("DELETE", "/_emulator/faults", null, 200);
  }

  public void setEngine(Engine engine) {
    admin("POST", "/_emulator/engine", new JsonObject().put("engine", engine.wireName()), 200);
  }

  public List<JsonObject> requests() {
    return admin("GET", "/_emulator/requests", null, 200).getJsonArray("data").stream().map(o -> (JsonObject) o).toList();
  }

  /** The REST request log as "METHOD path credential status" lines, in order (realtime upgrades left out). */
  public List<String> requestLines() {
    return requests().stream()
      .filter(r -> !r.getString("path").equals("/v1/ws"))
      .map(r -> r.getString("method") + " " + r.getString("path") + " " + r.getString("credential") + " " + r.getValue("status"))
      .toList();
  }

  /** Realtime connection attempts as "credential status" lines, in order. */
  public List<String> realtimeLines() {
    return requests().stream()
      .filter(r -> r.getString("path").equals("/v1/ws"))
      .map(r -> r.getString("credential") + " " + r.getValue("status"))
      .toList();
  }

  public void sendEvent(String workspaceKey, String name, JsonObject event) {
    admin("POST", "/_emulator/agents/event", new JsonObject().put("workspace_key", workspaceKey).put("name", name).put("event", event), 200);
  }

  public void clearRequests() {
    admin("DELETE", "/_emulator/requests", null, 200);
  }

  public List<JsonObject> audit() {
    return admin("GET", "/_emulator/audit", null, 200).getJsonArray("data").stream().map(o -> (JsonObject) o).toList();
  }

  /** The agent as the emulator knows it, current token included; null when absent. */
  public JsonObject agent(String workspaceKey, String name) {
    JsonArray agents = await(web.getAbs(baseUrl() + "/_emulator/agents").addQueryParam("workspace_key", workspaceKey).send())
      .bodyAsJsonObject().getJsonArray("data");
    return agents.stream().map(o -> (JsonObject) o).filter(a -> name.equals(a.getString("name"))).findFirst().orElse(null);
  }

  public List<JsonObject> agents(String workspaceKey) {
    JsonArray agents = await(web.getAbs(baseUrl() + "/_emulator/agents").addQueryParam("workspace_key", workspaceKey).send())
      .bodyAsJsonObject().getJsonArray("data");
    return agents.stream().map(o -> (JsonObject) o).toList();
  }

  public JsonObject admin(String method, String path, JsonObject body, int expectedStatus) {
    var request = web.requestAbs(io.vertx.core.http.HttpMethod.valueOf(method), baseUrl() + path);
    HttpResponse<Buffer> response = await(body == null ? request.send() : request.sendJsonObject(body));
    if (response.statusCode() != expectedStatus) {
      throw new AssertionError("admin " + method + " " + path + " answered " + response.statusCode() + ": " + response.bodyAsString());
    }
    return response.bodyAsJsonObject();
  }

  @Override
  public void close() {
    web.close();
    await(vertx.close());
  }
}
