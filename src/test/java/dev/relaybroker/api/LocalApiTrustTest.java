package dev.relaybroker.api;

import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.CapturedLogs;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The local API answers only itself (issue 22, finding 7): a web page that re-points its own name at 127.0.0.1 (DNS
 * rebinding) is refused by its Host header before any route; CONNECT and {@code OPTIONS *} get a plain 405 and no
 * log line; a request without the key cannot hold a connection open by sending its body one byte at a time.
 */
class LocalApiTrustTest {
  @TempDir
  Path stateDir;

  private EmulatorDriver emulator;
  private Machine broker;
  private Vertx clients;

  @BeforeEach
  void start() {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    BrokerOptions options = Machine.options(emulator, emulator.createWorkspace(), "alpha", stateDir);
    options.getApi().setHeaderTimeoutSecs(2).setIdleTimeoutSecs(30);
    broker = Machine.start(options);
    broker.awaitReady();
    clients = Vertx.vertx(TestVertx.options());
  }

  @AfterEach
  void stop() {
    await(clients.close());
    broker.close();
    emulator.close();
  }

  @Test
  void aRequestAddressedToAnotherNameIsRefusedWith421BeforeAnyRoute() {
    int port = broker.app().apiPort();
    for (String host : List.of("evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port, "localhost.evil.example",
      "192.168.1.20:" + port, "0.0.0.0:" + port, "127.0.0.1:notaport")) {
      Answer health = exchange("GET /health HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
      Answer session = exchange("GET /api/session HTTP/1.1\r\nHost: " + host + "\r\nX-API-Key: " + broker.app().apiKey() + "\r\n\r\n");

      for (Answer answer : List.of(health, session)) {
        assertThat(answer.status()).as(host).isEqualTo(421);
        JsonObject body = new JsonObject(answer.body());
        assertThat(body.getString("code")).isEqualTo("misdirected_request");
        assertThat(body.getJsonObject("error").getInteger("statusCode")).isEqualTo(421);
        assertThat(answer.body()).doesNotContain("agent-relay-listen").doesNotContain("workspace_key");
      }
    }
  }

  @Test
  void aRequestWithoutAHostOverTcpIsRefused() {
    Answer answer = exchange("GET /health HTTP/1.0\r\n\r\n");

    assertThat(answer.status()).isEqualTo(421);
  }

  @Test
  void everyLoopbackNameAndAddressIsServed() {
    int port = broker.app().apiPort();
    for (String host : List.of("127.0.0.1:" + port, "127.0.0.1", "localhost:" + port, "LOCALHOST", "localhost.", "[::1]:" + port,
      "127.1.2.3:" + port, "app.localhost:" + port)) {
      Answer health = exchange("GET /health HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
      assertThat(health.status()).as(host).isEqualTo(200);
      assertThat(health.body()).contains("agent-relay-listen");
    }
    Answer session = exchange("GET /api/session HTTP/1.1\r\nHost: localhost:" + port + "\r\nX-API-Key: " + broker.app().apiKey() + "\r\n\r\n");
    assertThat(session.status()).isEqualTo(200);
  }

  @Test
  void theUnixSocketTakesAnyHostABrowserCannotReachIt() {
    String socket = broker.app().socketPath();
    assertThat(socket).isNotNull();
    var client = clients.createHttpClient();
    int status = await(dev.relaybroker.support.TestVertx.onContext(clients, () -> client.request(new RequestOptions()
        .setServer(SocketAddress.domainSocketAddress(socket)).setHost("unix").setURI("/api/session").setMethod(HttpMethod.GET))
      .compose(request -> request.send())
      .map(response -> response.statusCode())));
    assertThat(status).isEqualTo(200);
  }

  @Test
  void connectAndOptionsStarGetAPlain405AndNoLogLine() {
    int mark = CapturedLogs.mark();
    for (int i = 0; i < 20; i++) {
      Answer connect = exchange("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
      Answer optionsStar = exchange("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      assertThat(connect.status()).isEqualTo(405);
      assertThat(optionsStar.status()).isEqualTo(405);
    }

    assertThat(CapturedLogs.since(mark)).noneMatch(line -> line.contains("Unhandled exception") || line.startsWith("io.vertx.ext.web"));
  }

  @Test
  void aBodyTrickledWithoutTheKeyIsCutAtTheWholeRequestDeadline() {
    NetSocket socket = await(clients.createNetClient().connect(broker.app().apiPort(), "127.0.0.1"));
    AtomicBoolean closed = new AtomicBoolean();
    socket.closeHandler(v -> closed.set(true));
    socket.handler(data -> { });
    socket.write("POST /api/session/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    long started = System.nanoTime();
    long timer = clients.setPeriodic(250, id -> {
      if (!closed.get()) {
        socket.write(" ");
      }
    });

    Await.until("connection closed by the broker", Duration.ofSeconds(15), closed::get);
    clients.cancelTimer(timer);

    // The header deadline is 2 s; without it the drip would hold the connection for 1000 × 250 ms.
    assertThat((System.nanoTime() - started) / 1_000_000).isLessThan(6000L);
    assertThat(exchange("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status()).isEqualTo(200);
  }

  private record Answer(int status, String body) {
  }

  /** Sends raw bytes on a new connection; the answer once its body is in (Content-Length) or the connection closed. */
  private Answer exchange(String request) {
    NetSocket socket = await(clients.createNetClient().connect(broker.app().apiPort(), "127.0.0.1"));
    Buffer received = Buffer.buffer();
    AtomicBoolean closed = new AtomicBoolean();
    socket.handler(received::appendBuffer);
    socket.closeHandler(v -> closed.set(true));
    socket.write(request);
    Await.until("an answer to " + request.lines().findFirst().orElse(""), Duration.ofSeconds(10),
      () -> closed.get() || complete(received.toString()));
    socket.close();
    String text = received.toString();
    assertThat(text).as("answer to %s", request).startsWith("HTTP/1.");
    int status = Integer.parseInt(text.substring(9, 12));
    int split = text.indexOf("\r\n\r\n");
    return new Answer(status, split < 0 ? "" : text.substring(split + 4));
  }

  private static boolean complete(String text) {
    int split = text.indexOf("\r\n\r\n");
    if (split < 0) {
      return false;
    }
    var length = java.util.regex.Pattern.compile("(?im)^content-length:\\s*(\\d+)").matcher(text.substring(0, split));
    return length.find() && text.length() - split - 4 >= Integer.parseInt(length.group(1));
  }
}
