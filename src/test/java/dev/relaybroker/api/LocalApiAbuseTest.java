package dev.relaybroker.api;

import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/** Clients that misbehave, slowly or in bulk, cannot take the local API down. */
class LocalApiAbuseTest {
  @TempDir
  Path stateDir;

  private EmulatorDriver emulator;
  private Machine broker;
  private Vertx clients;

  @BeforeEach
  void start() {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    BrokerOptions options = Machine.options(emulator, emulator.createWorkspace(), "alpha", stateDir);
    // The idle timeout outlasts the one-second trickle, so only the header deadline can cut it off.
    options.getApi().setHeaderTimeoutSecs(2).setIdleTimeoutSecs(3);
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

  private int health() {
    WebClient web = WebClient.create(clients);
    try {
      return await(web.get(broker.app().apiPort(), "127.0.0.1", "/health").send()).statusCode();
    } finally {
      web.close();
    }
  }

  @Test
  void headersTricklingInOneBytePerSecondAreCutOffByTheHeaderDeadline() {
    // This broker's idle timeout (30 s) is far from the header deadline (2 s): only the deadline can close the
    // connection inside the window asserted below, so a deadline that does not close fails this test.
    broker.close();
    BrokerOptions options = Machine.options(emulator, emulator.createWorkspace(), "alpha", stateDir);
    options.getApi().setHeaderTimeoutSecs(2).setIdleTimeoutSecs(30);
    broker = Machine.start(options);
    broker.awaitReady();
    NetClient net = clients.createNetClient();
    NetSocket socket = await(net.connect(broker.app().apiPort(), "127.0.0.1"));
    AtomicBoolean closed = new AtomicBoolean();
    socket.closeHandler(v -> closed.set(true));
    byte[] request = ("GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + broker.app().apiKey() + "\r\n\r\n").getBytes();
    long started = System.nanoTime();
    long timer = clients.setPeriodic(1000, id -> {
      int sent = (int) ((System.nanoTime() - started) / 1_000_000_000L);
      if (!closed.get() && sent < request.length) {
        socket.write(Buffer.buffer(new byte[] {request[sent]}));
      }
    });

    Await.until("connection closed by the broker", java.time.Duration.ofSeconds(12), closed::get);
    clients.cancelTimer(timer);

    assertThat((System.nanoTime() - started) / 1_000_000).as("ms until the broker closed the trickling connection")
        .isBetween(1500L, 6000L);
    assertThat(health()).isEqualTo(200);
  }

  /** A raw keep-alive connection that has had one {@code GET /health} answered. */
  private record AnsweredConnection(NetSocket socket, Buffer answer, AtomicBoolean closed) {
  }

  private AnsweredConnection connectionWithOneAnswer() {
    NetSocket socket = await(clients.createNetClient().connect(broker.app().apiPort(), "127.0.0.1"));
    AnsweredConnection connection = new AnsweredConnection(socket, Buffer.buffer(), new AtomicBoolean());
    socket.handler(connection.answer()::appendBuffer);
    socket.closeHandler(v -> connection.closed().set(true));
    socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    Await.until("an answer", () -> connection.answer().toString().contains("agent-relay-listen"));
    return connection;
  }

  @Test
  void anIdleKeepAliveConnectionIsClosedByTheIdleTimeout() {
    AnsweredConnection connection = connectionWithOneAnswer();
    long answered = System.nanoTime();

    Await.until("closed while idle", java.time.Duration.ofSeconds(10), connection.closed()::get);

    assertThat(connection.answer().toString()).startsWith("HTTP/1.1 200");
    assertThat((System.nanoTime() - answered) / 1_000_000).isBetween(2500L, 6000L);
  }

  @Test
  void aSecondHeadTrickledOnAKeepAliveConnectionIsCutOffToo() {
    // A first request needs no key (/health). The header deadline is for the first head only; after it, the idle
    // timeout cuts a trickle off, because it counts whole HTTP messages read, not bytes.
    AnsweredConnection connection = connectionWithOneAnswer();
    byte[] second = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n".getBytes();
    long started = System.nanoTime();
    long timer = clients.setPeriodic(500, id -> {
      int sent = (int) ((System.nanoTime() - started) / 500_000_000L);
      if (!connection.closed().get() && sent < second.length) {
        connection.socket().write(Buffer.buffer(new byte[] {second[sent]}));
      }
    });

    Await.until("connection closed by the broker", java.time.Duration.ofSeconds(10), connection.closed()::get);
    clients.cancelTimer(timer);

    assertThat((System.nanoTime() - started) / 1_000_000).isBetween(2500L, 6000L);
    assertThat(connection.answer().toString().split("HTTP/1.1 200", -1)).hasSize(2);
    assertThat(health()).isEqualTo(200);
  }

  @Test
  void aQuietEventStreamOutlivesTheIdleTimeout() throws InterruptedException {
    List<String> frames = new CopyOnWriteArrayList<>();
    AtomicBoolean closed = new AtomicBoolean();
    ClientWebSocket ws = clients.createWebSocketClient().webSocket();
    ws.textMessageHandler(frames::add);
    ws.closeHandler(v -> closed.set(true));
    await(ws.connect(new WebSocketConnectOptions().setPort(broker.app().apiPort()).setHost("127.0.0.1")
      .setURI("/ws?sinceSeq=1000000").addHeader("X-API-Key", broker.app().apiKey())));

    Thread.sleep(5000); // past both the idle timeout (3 s) and the header deadline (2 s), nothing to say
    assertThat(closed).isFalse();

    broker.refresh();
    Await.until("the rollover event on the same stream", () -> frames.stream().anyMatch(f -> f.contains("token_rollover")));
    assertThat(closed).isFalse();
  }

  @Test
  void aThousandConnectionsOpenedAndDroppedLeaveTheBrokerAnswering() {
    NetClient net = clients.createNetClient();
    List<Future<Void>> churn = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      churn.add(net.connect(broker.app().apiPort(), "127.0.0.1").compose(socket -> {
        // Half of them say half a request first.
        return (socket.writeHandlerID() != null && socket.localAddress().port() % 2 == 0
          ? socket.write("GET /api/sess") : Future.<Void>succeededFuture()).compose(v -> socket.close());
      }));
    }
    await(Future.join(churn), java.time.Duration.ofSeconds(60));

    assertThat(health()).isEqualTo(200);
    assertThat(broker.session().getString("agentName")).isEqualTo("alpha");
  }

  @Test
  void binaryGarbageGetsAnErrorAndNoStackTrace() {
    NetClient net = clients.createNetClient();
    NetSocket socket = await(net.connect(broker.app().apiPort(), "127.0.0.1"));
    Buffer answer = Buffer.buffer();
    socket.handler(answer::appendBuffer);
    byte[] garbage = new byte[4096];
    new java.util.Random(7).nextBytes(garbage);

    socket.write(Buffer.buffer(garbage));
    Await.until("an answer or a close", () -> answer.length() > 0);

    assertThat(answer.toString()).startsWith("HTTP/1.").doesNotContain("Exception").doesNotContain("\tat ");
    assertThat(health()).isEqualTo(200);
  }
}
