package dev.relaybroker.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The one load driver scripts/bench points at every target, in its own JVM: N keep-alive connections, each
 * sending GET requests back to back (closed loop) for a fixed time after a warm-up. Prints one JSON line:
 * {requests, seconds, rps, p50Ms, p99Ms, errors, allRequests}.
 *
 * <p>Usage: LoadDriver tcp:PORT|uds:PATH connections seconds warmupSeconds apiKey path
 */
public final class LoadDriver {
  private long[] latenciesNs = new long[1 << 16];
  private int count;
  private long completed;
  private long errors;
  private volatile boolean recording;
  private volatile boolean running = true;

  public static void main(String[] args) throws Exception {
    new LoadDriver().run(args[0], Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]), args[4], args[5]);
  }

  private void run(String target, int connections, int seconds, int warmupSeconds, String apiKey, String path) throws Exception {
    // One event loop: the driver should not take more than its one core from the server it measures.
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setPipelining(false),
      new PoolOptions().setHttp1MaxSize(connections));
    SocketAddress server = target.startsWith("uds:") ? SocketAddress.domainSocketAddress(target.substring(4))
      : SocketAddress.inetSocketAddress(Integer.parseInt(target.substring(4)), "127.0.0.1");
    RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET).setServer(server).setHost("localhost")
      .setURI(path).putHeader("X-API-Key", apiKey);

    Promise<Void> done = Promise.promise();
    vertx.runOnContext(v -> {
      for (int i = 0; i < connections; i++) {
        loop(client, request);
      }
    });
    Thread.sleep(warmupSeconds * 1000L);
    vertx.runOnContext(v -> recording = true);
    long started = System.nanoTime();
    Thread.sleep(seconds * 1000L);
    vertx.runOnContext(v -> {
      recording = false;
      running = false;
      done.complete();
    });
    done.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - started) / 1e9;
    long[] sorted = Arrays.copyOf(latenciesNs, count);
    Arrays.sort(sorted);
    JsonObject result = new JsonObject()
      .put("target", target).put("connections", connections)
      .put("requests", count).put("seconds", elapsed).put("rps", count / elapsed)
      .put("p50Ms", percentile(sorted, 0.50)).put("p99Ms", percentile(sorted, 0.99)).put("errors", errors)
      // Warm-up included: what the server's CPU time over the whole drive is divided by.
      .put("allRequests", completed);
    System.out.println(result.encode());
    client.close();
    vertx.close();
    System.exit(0);
  }

  private void loop(HttpClient client, RequestOptions request) {
    if (!running) {
      return;
    }
    long start = System.nanoTime();
    client.request(request)
      .compose(req -> req.send())
      .compose(response -> response.statusCode() == 200 ? response.body() : Future.failedFuture("status " + response.statusCode()))
      .onComplete(result -> {
        if (result.succeeded()) {
          completed++;
          record(System.nanoTime() - start);
        } else if (recording) {
          errors++;
        }
        loop(client, request);
      });
  }

  private void record(long latencyNs) {
    if (!recording) {
      return;
    }
    if (count == latenciesNs.length) {
      latenciesNs = Arrays.copyOf(latenciesNs, count * 2);
    }
    latenciesNs[count++] = latencyNs;
  }

  private static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
  }
}
