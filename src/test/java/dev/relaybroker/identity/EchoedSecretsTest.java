package dev.relaybroker.identity;

import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.CapturedLogs;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cloud that echoes the broker's secrets back, or hands it names full of control characters (issue 22, findings
 * 4 and 5), seen where a person or a client meets them: the log, the {@code /ws} journal replayed to a late
 * client, {@code refresh_error} and {@code /api/session}.
 */
class EchoedSecretsTest {
  @TempDir
  Path stateDir;

  private EmulatorDriver emulator;
  private String key;
  private Machine broker;
  private Vertx clients;
  private WebClient web;

  @BeforeEach
  void start() {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    key = emulator.createWorkspace();
    clients = Vertx.vertx(TestVertx.options());
    web = WebClient.create(clients);
  }

  @AfterEach
  void stop() {
    if (broker != null) {
      broker.close();
    }
    web.close();
    await(clients.close());
    emulator.close();
  }

  @Test
  void rotateTokenErrorsThatEchoTheKeyAndTheTokenReachNoLogNoEventAndNoClient() {
    int mark = CapturedLogs.mark();
    broker = Machine.start(Machine.options(emulator, key, "alpha", stateDir));
    String token = broker.awaitReady().getString("token");
    String echo = "rotation failed for key " + key + " and token " + token;
    // A transient echo first (retried, so logged by the retry loop), then a refusal (served as refresh_error).
    emulator.fault(new JsonObject().put("path", "/v1/agents/*/rotate-token").put("status", 500).put("count", 2)
      .put("body", new JsonObject().put("ok", false).put("error", new JsonObject().put("code", "internal_error").put("message", echo)).encode()));
    assertThat(refresh().statusCode()).isEqualTo(200);
    String current = broker.session().getString("token");
    String echoCurrent = "bad request for key " + key + " and token " + current;
    emulator.fault(new JsonObject().put("path", "/v1/agents/*/rotate-token").put("status", 400)
      .put("body", new JsonObject().put("ok", false).put("error", new JsonObject().put("code", "invalid_request").put("message", echoCurrent)).encode()));

    HttpResponse<Buffer> refused = refresh();

    JsonObject refreshError = refused.bodyAsJsonObject().getJsonObject("refresh_error");
    assertThat(refreshError).isNotNull();
    assertThat(refreshError.getString("message")).contains("[redacted]");
    List<String> surfaces = new java.util.ArrayList<>();
    // The session body carries the workspace key by contract (SDKs use it); the cloud's text is in refresh_error.
    surfaces.add(refreshError.encode());
    surfaces.addAll(replayedEvents());
    surfaces.addAll(CapturedLogs.since(mark));
    surfaces.add(broker.states().toString());
    for (String secret : List.of(key, token, current)) {
      assertThat(surfaces).as("surfaces holding a secret").noneMatch(text -> text.contains(secret));
    }
  }

  @Test
  void aNameWithControlCharactersFromTheCloudIsNeverServedNorLogged() {
    int mark = CapturedLogs.mark();
    String forged = "alpha\n2026-01-01 ERROR forged line \u001b[31m";
    emulator.fault(new JsonObject().put("path", "/v1/agents").put("method", "POST").put("status", 201).put("count", 100)
      .put("body", new JsonObject().put("ok", true).put("data", new JsonObject().put("id", "agt_1").put("name", forged)
        .put("token", "at_live_" + "ab".repeat(16))).encode()));

    broker = Machine.start(Machine.options(emulator, key, "alpha", stateDir));
    JsonObject failed = broker.awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("cloud_protocol_error");
    HttpResponse<Buffer> session = await(web.get(broker.app().apiPort(), "127.0.0.1", "/api/session")
      .putHeader("X-API-Key", broker.app().apiKey()).send());
    assertThat(session.statusCode()).isEqualTo(502);
    // Never quoted (a made-up name may carry anything, a held secret included): said by its length.
    String message = session.bodyAsJsonObject().getString("message");
    assertThat(message).contains("carries a 'name' with control characters").contains("characters; never quoted")
      .doesNotContain("2026-01-01").doesNotContainPattern("[\\x00-\\x1f]");
    assertThat(CapturedLogs.since(mark)).noneMatch(line -> line.contains("\u001b") || line.contains("\n"));
  }

  private HttpResponse<Buffer> refresh() {
    return await(web.post(broker.app().apiPort(), "127.0.0.1", "/api/session/refresh")
      .putHeader("X-API-Key", broker.app().apiKey()).send());
  }

  /** What a client connecting late gets: the journal from the start. */
  private List<String> replayedEvents() {
    List<String> frames = new CopyOnWriteArrayList<>();
    ClientWebSocket socket = clients.createWebSocketClient().webSocket();
    socket.textMessageHandler(frames::add);
    await(socket.connect(new WebSocketConnectOptions().setPort(broker.app().apiPort()).setHost("127.0.0.1")
      .setURI("/ws?sinceSeq=0").addHeader("X-API-Key", broker.app().apiKey())));
    dev.relaybroker.support.Await.until("the journal replayed", () -> frames.size() >= 3);
    try {
      Thread.sleep(300); // the rest of the replay, which arrives in one burst
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    await(socket.close());
    return frames;
  }
}
