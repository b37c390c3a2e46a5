package dev.relaybroker.api;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;

import java.util.HashMap;
import java.util.Map;

/**
 * Slowloris guard: a new connection gets {@code timeoutSecs} to deliver its first request head, or it is closed.
 * Vert.x calls the request handler once a head is complete: a request that proves who it is (the API key, or the
 * Unix socket) {@link #disarm}s the deadline; one that does not is held to a whole-request deadline
 * ({@link #untilAnswered}): its body must be in and its answer out by then, or the connection is closed. Without
 * the key nobody keeps a connection open by sending a body one byte a second. (The idle timeout counts whole
 * messages, but would give a new connection its full length; this closes it sooner.)
 */
final class HeaderDeadline {
  private final Vertx vertx;
  private final long timeoutMs;
  private final Map<HttpConnection, Long> pending = new HashMap<>();
  private final Map<HttpConnection, Long> deadlines = new HashMap<>();

  HeaderDeadline(Vertx vertx, int timeoutSecs) {
    this.vertx = vertx;
    this.timeoutMs = timeoutSecs * 1000L;
  }

  void arm(HttpConnection connection) {
    long timer = vertx.setTimer(timeoutMs, t -> {
      pending.remove(connection);
      deadlines.remove(connection);
      connection.close();
    });
    pending.put(connection, timer);
    deadlines.put(connection, System.currentTimeMillis() + timeoutMs);
    connection.closeHandler(v -> disarm(connection));
  }

  void disarm(HttpConnection connection) {
    deadlines.remove(connection);
    Long timer = pending.remove(connection);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }

  /**
   * An unauthenticated request: by the connection's deadline (the first request) or {@code timeoutSecs} from now (a
   * later one), its body must have arrived and its answer be sent; otherwise the connection is closed.
   */
  void untilAnswered(HttpServerRequest request) {
    HttpConnection connection = request.connection();
    Long connectionDeadline = deadlines.remove(connection);
    Long timer = pending.remove(connection);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
    long delayMs = connectionDeadline != null ? Math.max(1, connectionDeadline - System.currentTimeMillis()) : timeoutMs;
    long requestTimer = vertx.setTimer(delayMs, t -> {
      pending.remove(connection);
      if (!request.isEnded() || !request.response().ended()) {
        connection.close();
      }
    });
    pending.put(connection, requestTimer);
  }
}
