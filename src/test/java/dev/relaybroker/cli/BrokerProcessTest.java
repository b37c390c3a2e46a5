package dev.relaybroker.cli;

import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.BrokerProcesses;
import dev.relaybroker.support.EmulatorDriver;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/** What only a real process shows: stdout, exit codes, signals, the state-dir lock across processes. */
class BrokerProcessTest {
  private static final String LISTENING = "\\[agent-relay] API listening on http://127\\.0\\.0\\.1:\\d+";

  @TempDir
  Path cwd;

  @RegisterExtension
  final BrokerProcesses brokers = new BrokerProcesses();
  private EmulatorDriver emulator;
  private String key;
  private WebClient web;

  @BeforeEach
  void start() {
    emulator = brokers.emulator();
    key = brokers.key();
    web = brokers.web();
  }

  private BrokerProcess up(String... extra) {
    List<String> args = new ArrayList<>(List.of("up", "--name", "alpha"));
    args.addAll(List.of(extra));
    return brokers.start(cwd, Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key), args.toArray(String[]::new));
  }

  private JsonObject connection() throws Exception {
    return new JsonObject(Files.readString(cwd.resolve(".agentworkforce/relay/connection.json")));
  }

  private JsonObject awaitReadySession(BrokerProcess process) {
    Await.until("connection.json", () -> Files.exists(cwd.resolve(".agentworkforce/relay/connection.json")) || !process.isAlive());
    Await.until("ready session", () -> {
      try {
        JsonObject connection = connection();
        HttpResponse<Buffer> response = await(web.getAbs(connection.getString("url") + "/api/session")
          .putHeader("X-API-Key", connection.getString("api_key")).send());
        return response.statusCode() == 200;
      } catch (Exception e) {
        return false;
      }
    });
    try {
      JsonObject connection = connection();
      return await(web.getAbs(connection.getString("url") + "/api/session").putHeader("X-API-Key", connection.getString("api_key")).send())
        .bodyAsJsonObject();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void stdoutCarriesOnlyTheListeningLineAndSigtermStopsCleanlyWithExitZero() {
    BrokerProcess broker = up();
    JsonObject session = awaitReadySession(broker);

    long stopAskedAt = System.nanoTime();
    broker.terminate();

    assertThat(broker.awaitExit()).isZero();
    // Found by the suite getting slower: Vert.x closed from inside one of its own callbacks never said it was done,
    // and every stop waited out the 10 s budget, then printed "shutdown was not clean".
    assertThat(java.time.Duration.ofNanos(System.nanoTime() - stopAskedAt)).as("from SIGTERM to exit").isLessThan(java.time.Duration.ofSeconds(4));
    assertThat(broker.stderr()).noneMatch(l -> l.contains("not clean") || l.contains("Exception"));
    assertThat(broker.stdout()).singleElement().asString().matches(LISTENING);
    assertThat(session.getJsonObject("agent").getString("name")).isEqualTo("alpha");
    assertThat(cwd.resolve(".agentworkforce/relay/connection.json")).doesNotExist();
    assertThat(cwd.resolve(".agentworkforce/relay/broker.sock")).doesNotExist();
    assertThat(broker.stderr()).anyMatch(l -> l.contains("stopping (SIGTERM)"));
    assertThat(String.join("\n", broker.stderr())).doesNotContain(key).doesNotContainPattern("at_live_[0-9a-f]{16,}");
  }

  @Test
  void secondBrokerForTheSameDirectoryExitsThreeAndLeavesTheFirstAlone() throws Exception {
    BrokerProcess first = up();
    awaitReadySession(first);
    JsonObject before = connection();

    BrokerProcess second = up();

    assertThat(second.awaitExit()).isEqualTo(3);
    assertThat(second.stderr()).anyMatch(l -> l.contains("another broker (pid " + first.pid() + ") is already running for "
      + cwd.resolve(".agentworkforce/relay")));
    assertThat(second.stdout()).isEmpty();
    assertThat(first.isAlive()).isTrue();
    assertThat(connection()).isEqualTo(before);
    assertThat(awaitReadySession(first).getString("state")).isEqualTo("ready");
  }

  @Test
  void aBrokerKilledWithSigkillLeavesAStaleLockThatTheNextStartTakesOver() throws Exception {
    BrokerProcess first = up();
    String agentId = awaitReadySession(first).getJsonObject("agent").getString("id");
    first.kill();
    assertThat(cwd.resolve(".agentworkforce/relay/connection.json")).exists();

    BrokerProcess second = up();
    JsonObject session = awaitReadySession(second);

    assertThat(session.getJsonObject("agent").getString("id")).isEqualTo(agentId);
    assertThat(connection().getLong("pid")).isEqualTo(second.pid());
  }

  @Test
  void invalidConfigurationExitsTwoListingEveryProblem() {
    BrokerProcess broker = brokers.start(cwd, Map.of(), "up", "--reclaim", "maybe", "--api-port", "x", "--api-bind", "0.0.0.0");

    assertThat(broker.awaitExit()).isEqualTo(2);
    String stderr = String.join("\n", broker.stderr());
    assertThat(stderr).contains("config_invalid").contains("'--api-port': needs a whole number");
    assertThat(broker.stdout()).isEmpty();
  }

  @Test
  void valueProblemsAlsoExitTwoAllAtOnce() {
    BrokerProcess broker = brokers.start(cwd, Map.of(), "up", "--reclaim", "maybe", "--api-bind", "0.0.0.0", "--base-url", "nope");

    assertThat(broker.awaitExit()).isEqualTo(2);
    assertThat(broker.stderr()).anyMatch(l -> l.contains("3 problems"))
      .anyMatch(l -> l.contains("reclaim")).anyMatch(l -> l.contains("0.0.0.0")).anyMatch(l -> l.contains("baseUrl"));
  }

  @Test
  void shutdownEndpointStopsTheProcessWithExitZero() throws Exception {
    BrokerProcess broker = up();
    awaitReadySession(broker);
    JsonObject connection = connection();

    JsonObject answer = await(web.postAbs(connection.getString("url") + "/api/shutdown").putHeader("X-API-Key", connection.getString("api_key"))
      .send()).bodyAsJsonObject();

    assertThat(answer.getString("status")).isEqualTo("shutting_down");
    assertThat(broker.awaitExit()).isZero();
    assertThat(cwd.resolve(".agentworkforce/relay/connection.json")).doesNotExist();
  }

  @Test
  void helpAndVersionPrintAndExitZero() {
    BrokerProcess help = brokers.start(cwd, Map.of(), "--help");
    BrokerProcess version = brokers.start(cwd, Map.of(), "--version");

    assertThat(help.awaitExit()).isZero();
    assertThat(version.awaitExit()).isZero();
    assertThat(String.join("\n", help.stdout())).contains("Usage: relay-broker").contains("  up ").contains("  init ")
      .contains("  completion ");
    assertThat(version.stdout()).singleElement().asString().startsWith("relay-broker ");
  }

  @Test
  void standaloneEmulatorServesTheCloudApi() {
    BrokerProcess process = brokers.start(cwd, Map.of(), "emulator", "--engine", "current", "--port", "0");
    Await.until("listening", () -> !process.stdout().isEmpty() || !process.isAlive());
    String url = process.stdout().get(0).replaceAll(".*listening on ", "");
    await(web.postAbs(url + "/_emulator/workspaces").sendJsonObject(new JsonObject().put("api_key", key)));

    HttpResponse<Buffer> registered = await(web.postAbs(url + "/v1/agents").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("name", "alpha")));
    HttpResponse<Buffer> conflict = await(web.postAbs(url + "/v1/agents").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("name", "alpha")));
    HttpResponse<Buffer> lean = await(web.getAbs(url + "/v1/agents/alpha").bearerTokenAuthentication(key).send());
    HttpResponse<Buffer> taken = await(web.postAbs(url + "/v1/agents/alpha/takeover").bearerTokenAuthentication(key)
      .sendJsonObject(new JsonObject().put("expected_agent_id", lean.bodyAsJsonObject().getJsonObject("data").getString("id"))));

    assertThat(process.stdout().get(0)).contains("(current engine) listening on http://127.0.0.1:");
    assertThat(registered.statusCode()).isEqualTo(201);
    assertThat(conflict.statusCode()).isEqualTo(409);
    assertThat(lean.bodyAsJsonObject().getJsonObject("data").fieldNames()).doesNotContain("workspace_id", "created_at", "token_hash");
    assertThat(taken.statusCode()).isEqualTo(200);
    process.terminate();
  }
}
