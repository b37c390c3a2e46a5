package dev.relaybroker.support;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static dev.relaybroker.support.Await.await;

/**
 * Whatever answers at a base URL when it is not Relaycast: a loopback server in its own Vert.x whose answer a test
 * sets, with ready-made hostile ones (a huge body, chunked or with Content-Length; a slow drip; a redirect). It
 * counts the body bytes it got onto the wire and keeps every request's {@code METHOD path Authorization}, so a
 * test can tell how much a client read before it hung up, and where a credential went.
 */
public final class HostileCloud implements AutoCloseable {
  private static final Buffer MEGABYTE_OF_A = Buffer.buffer("a".repeat(64 * 1024));

  private final Vertx vertx = Vertx.vertx();
  private final HttpServer server;
  private final AtomicLong bodyBytesWritten = new AtomicLong();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private volatile Handler<HttpServerRequest> answer = request -> request.response().setStatusCode(404).end();

  private HostileCloud() {
    server = await(vertx.createHttpServer().requestHandler(request -> {
      requests.add(request.method() + " " + request.path() + " " + request.getHeader("Authorization"));
      answer.handle(request);
    }).listen(0, "127.0.0.1"));
  }

  public static HostileCloud start() {
    return new HostileCloud();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  /** Every request so far as {@code METHOD path Authorization-header}. */
  public List<String> requests() {
    return requests;
  }

  /** Body bytes the server handed to its socket: what a client that hangs up early never read. */
  public long bodyBytesWritten() {
    return bodyBytesWritten.get();
  }

  public HostileCloud answer(Handler<HttpServerRequest> handler) {
    this.answer = handler;
    return this;
  }

  /** A status with a body, as is. */
  public HostileCloud answer(int status, String body) {
    return answer(request -> request.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body));
  }

  /** 200 with {@code totalBytes} of 'a', with a Content-Length header or chunked, written as fast as the peer reads. */
  public HostileCloud hugeBody(long totalBytes, boolean contentLength) {
    return answer(request -> {
      HttpServerResponse response = request.response().setStatusCode(200).putHeader("Content-Type", "application/json");
      if (contentLength) {
        response.putHeader("Content-Length", String.valueOf(totalBytes));
      } else {
        response.setChunked(true);
      }
      pump(response, totalBytes);
    });
  }

  private void pump(HttpServerResponse response, long remaining) {
    while (remaining > 0 && !response.writeQueueFull() && !response.closed()) {
      Buffer chunk = remaining >= MEGABYTE_OF_A.length() ? MEGABYTE_OF_A : MEGABYTE_OF_A.slice(0, (int) remaining);
      response.write(chunk);
      bodyBytesWritten.addAndGet(chunk.length());
      remaining -= chunk.length();
    }
    if (response.closed()) {
      return;
    }
    if (remaining <= 0) {
      response.end();
      return;
    }
    long left = remaining;
    response.drainHandler(v -> pump(response, left));
  }

  /** 200, headers at once, then one byte of a valid-looking body every {@code everyMs}, never ending. */
  public HostileCloud slowDrip(long everyMs) {
    return answer(request -> {
      HttpServerResponse response = request.response().setStatusCode(200).putHeader("Content-Type", "application/json").setChunked(true);
      response.write("{\"ok\":true,\"data\":{\"padding\":\"");
      long timer = vertx.setPeriodic(everyMs, t -> {
        if (!response.closed()) {
          response.write("a");
          bodyBytesWritten.incrementAndGet();
        }
      });
      response.closeHandler(v -> vertx.cancelTimer(timer));
    });
  }

  /** A redirect to {@code location} (307 keeps the method and, in a naive client, the Authorization header). */
  public HostileCloud redirectTo(String location) {
    return answer(request -> request.response().setStatusCode(307).putHeader("Location", location).end());
  }

  @Override
  public void close() {
    await(vertx.close());
  }
}
