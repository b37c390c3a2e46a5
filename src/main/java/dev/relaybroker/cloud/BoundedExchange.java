package dev.relaybroker.cloud;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One HTTP exchange with the cloud, bounded in size and in time, whatever answers at the base URL. The body is
 * counted while it streams in and the exchange is cut as soon as it would pass {@code maxResponseBytes} (a
 * declared {@code Content-Length} above the limit is cut before a byte is read): a 300 MB answer costs at most the
 * limit, never an {@link OutOfMemoryError}. One deadline covers connect, request, headers and the whole body: a
 * cloud that sends its headers and then one byte a second is cut at the deadline, not kept alive by an idle
 * timer. Redirects are never followed (the workspace key must not go to whatever a {@code Location} names).
 */
public final class BoundedExchange {
  /** Far above any real Relaycast answer (a few KB), far below what hurts a small JVM. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 512 * 1024;

  /** What came back: status, the two headers the client decides on, and the whole body (at most the limit). */
  public record Answer(int status, String retryAfter, String contentType, Buffer body) {
  }

  /** The answer was larger than the limit; the exchange was cut. */
  public static final class TooLarge extends RuntimeException {
    public final int status;

    TooLarge(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  private final Vertx vertx;
  private final HttpClientAgent client;
  private final long deadlineMs;
  private final long maxResponseBytes;

  public BoundedExchange(Vertx vertx, HttpClientOptions options, long deadlineMs, long maxResponseBytes) {
    this.vertx = vertx;
    this.client = vertx.createHttpClient(options);
    this.deadlineMs = deadlineMs;
    this.maxResponseBytes = maxResponseBytes;
  }

  /**
   * Fails with a {@link TimeoutException} at the deadline, a {@link TooLarge} past the limit, or the transport's
   * own exception; every failure closes the connection it was on.
   */
  public Future<Answer> send(HttpMethod method, String absoluteUrl, MultiMap headers, Buffer body) {
    if (io.vertx.core.Vertx.currentContext() == null) {
      // Called from a thread of no Vert.x context (a test, an embedding application's main): the exchange runs on
      // one, so that the response's handlers are set in the same task that delivers it. Otherwise a short answer
      // can end before they are, and the answer is lost (seen: an IllegalStateException, then a timeout).
      Promise<Answer> onContext = Promise.promise();
      vertx.getOrCreateContext().runOnContext(v -> send(method, absoluteUrl, headers, body).onComplete(onContext));
      return onContext.future();
    }
    Promise<Answer> outcome = Promise.promise();
    AtomicReference<HttpClientRequest> sent = new AtomicReference<>();
    long deadline = vertx.setTimer(deadlineMs, t -> {
      if (outcome.tryFail(new TimeoutException("the whole answer did not arrive within " + deadlineMs + " ms (cloud.requestTimeoutMs)"))) {
        cut(sent.get());
      }
    });
    RequestOptions request = new RequestOptions()
      .setMethod(method)
      .setAbsoluteURI(absoluteUrl)
      .setHeaders(headers)
      .setFollowRedirects(false);
    client.request(request)
      .compose(req -> {
        sent.set(req);
        if (outcome.future().isComplete()) {
          cut(req); // the deadline passed while connecting
          return Future.failedFuture("cut");
        }
        return body == null ? req.send() : req.send(body);
      })
      .onSuccess(response -> read(response, outcome))
      .onFailure(outcome::tryFail);
    return outcome.future().andThen(done -> vertx.cancelTimer(deadline));
  }

  private void read(HttpClientResponse response, Promise<Answer> outcome) {
    // First: a response cut below (too large, past the deadline) reports its reset here, where it is expected,
    // rather than to Vert.x's default handler, which logs each as an ERROR with a stack trace.
    response.exceptionHandler(outcome::tryFail);
    String declared = response.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (declared != null && declaredLength(declared) > maxResponseBytes) {
      tooLarge(response, outcome, "declared " + declared.trim() + " bytes");
      return;
    }
    Buffer body = Buffer.buffer();
    response.handler(chunk -> {
      if (outcome.future().isComplete()) {
        return;
      }
      if ((long) body.length() + chunk.length() > maxResponseBytes) {
        tooLarge(response, outcome, "more than " + maxResponseBytes + " bytes arrived");
        return;
      }
      body.appendBuffer(chunk);
    });
    response.endHandler(v -> outcome.tryComplete(new Answer(response.statusCode(), response.getHeader("Retry-After"),
      response.getHeader(HttpHeaders.CONTENT_TYPE), body)));
  }

  private void tooLarge(HttpClientResponse response, Promise<Answer> outcome, String what) {
    if (outcome.tryFail(new TooLarge(response.statusCode(), "a body larger than the " + maxResponseBytes
      + " bytes allowed (" + what + "; cloud.maxResponseBytes)"))) {
      cut(response.request());
    }
  }

  private static long declaredLength(String header) {
    try {
      return Long.parseLong(header.trim());
    } catch (NumberFormatException unreadable) {
      return -1; // Netty refuses such a response itself
    }
  }

  /** Ends the exchange and its connection: a half-read body must not be read by the next request. */
  private static void cut(HttpClientRequest request) {
    if (request != null) {
      request.reset();
      request.connection().close();
    }
  }

  public void close() {
    client.close();
  }
}
