package dev.relaybroker.api;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;

import java.util.HashMap;
import java.util.Map;

/**
 * Slowloris guard: a new connection gets {@code timeoutSecs} to deliver its first request head, or it is closed.
 * Vert.x calls the request handler once a head is complete, which {@link #disarm}s the deadline. (The idle
 * timeout counts whole messages, but would give a new connection its full length; this closes it sooner.)
 */
final class HeaderDeadline {
  private final Vertx vertx;
  private final long timeoutMs;
  private final Map<HttpConnection, Long> pending = new HashMap<>();

  HeaderDeadline(Vertx vertx, int timeoutSecs) {
    this.vertx = vertx;
    this.timeoutMs = timeoutSecs * 1000L;
  }

  void arm(HttpConnection connection) {
    long timer = vertx.setTimer(timeoutMs, t -> {
      pending.remove(connection);
      connection.close();
    });
    pending.put(connection, timer);
    connection.closeHandler(v -> disarm(connection));
  }

  void disarm(HttpConnection connection) {
    Long timer = pending.remove(connection);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }
}
