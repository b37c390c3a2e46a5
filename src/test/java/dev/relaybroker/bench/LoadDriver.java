package dev.relaybroker.bench;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The one load driver scripts/bench points at every target, in its own JVM: N keep-alive connections, each
 * sending GET requests back to back (closed loop) for a fixed time after a warm-up. Prints one JSON line:
 * {requests, seconds, rps, p50Ms, p99Ms, errors, allRequests, driverCpuUsPerRequest}.
 *
 * <p>It speaks HTTP/1.1 on raw sockets (a fixed request, responses framed by Content-Length) rather than through
 * a full HTTP client: on a 2-core machine the driver shares the CPU with the server it measures, and every
 * microsecond it spends per request is one the server does not get. Anything but a 200 with a Content-Length
 * counts as an error and closes the connection.
 *
 * <p>Usage: LoadDriver tcp:PORT|uds:PATH connections seconds warmupSeconds apiKey path
 */
public final class LoadDriver {
  private static final byte[] HEADER_END = {'\r', '\n', '\r', '\n'};
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
    NetClient client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true));
    SocketAddress server = target.startsWith("uds:") ? SocketAddress.domainSocketAddress(target.substring(4))
      : SocketAddress.inetSocketAddress(Integer.parseInt(target.substring(4)), "127.0.0.1");
    Buffer request = Buffer.buffer(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nX-API-Key: " + apiKey + "\r\n\r\n")
      .getBytes(StandardCharsets.US_ASCII));

    Promise<Void> done = Promise.promise();
    vertx.runOnContext(v -> {
      for (int i = 0; i < connections; i++) {
        open(client, server, request);
      }
    });
    Thread.sleep(warmupSeconds * 1000L);
    vertx.runOnContext(v -> recording = true);
    long started = System.nanoTime();
    long cpuStarted = processCpuNs();
    long completedAtStart = completedSnapshot(vertx);
    Thread.sleep(seconds * 1000L);
    vertx.runOnContext(v -> {
      recording = false;
      running = false;
      done.complete();
    });
    done.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - started) / 1e9;
    long cpuUsed = processCpuNs() - cpuStarted;
    long[] sorted = Arrays.copyOf(latenciesNs, count);
    Arrays.sort(sorted);
    JsonObject result = new JsonObject()
      .put("target", target).put("connections", connections)
      .put("requests", count).put("seconds", elapsed).put("rps", count / elapsed)
      .put("p50Ms", percentile(sorted, 0.50)).put("p99Ms", percentile(sorted, 0.99)).put("errors", errors)
      // Warm-up included: what the server's CPU time over the whole drive is divided by.
      .put("allRequests", completed)
      .put("driverCpuUsPerRequest", cpuUsed / 1e3 / Math.max(1, completed - completedAtStart));
    System.out.println(result.encode());
    client.close();
    vertx.close();
    System.exit(0);
  }

  private long completedSnapshot(Vertx vertx) throws Exception {
    Promise<Long> snapshot = Promise.promise();
    vertx.runOnContext(v -> snapshot.complete(completed));
    return snapshot.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static long processCpuNs() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private void open(NetClient client, SocketAddress server, Buffer request) {
    client.connect(server).onComplete(connected -> {
      if (connected.failed()) {
        errors++;
        if (running) {
          open(client, server, request);
        }
        return;
      }
      new Connection(client, server, connected.result(), request).send();
    });
  }

  /** One keep-alive connection: send, read one response, send again. */
  private final class Connection {
    private final NetClient client;
    private final SocketAddress server;
    private final NetSocket socket;
    private final Buffer request;
    private Buffer pending = Buffer.buffer();
    private long sentAt;

    Connection(NetClient client, SocketAddress server, NetSocket socket, Buffer request) {
      this.client = client;
      this.server = server;
      this.socket = socket;
      this.request = request;
      socket.handler(this::onData);
      socket.closeHandler(v -> {
        if (running) {
          errors++;
          open(client, server, request);
        }
      });
    }

    void send() {
      if (!running) {
        socket.close();
        return;
      }
      sentAt = System.nanoTime();
      socket.write(request);
    }

    private void onData(Buffer data) {
      pending = pending.length() == 0 ? data : pending.appendBuffer(data);
      int headerEnd = indexOf(pending, HEADER_END);
      if (headerEnd < 0) {
        return;
      }
      String head = pending.getString(0, headerEnd, "US-ASCII");
      int length = contentLength(head);
      if (!head.startsWith("HTTP/1.1 200") || length < 0) {
        socket.close(); // counted as an error by the close handler
        return;
      }
      int total = headerEnd + HEADER_END.length + length;
      if (pending.length() < total) {
        return;
      }
      // Closed loop: one request in flight per connection, so nothing follows the body.
      pending = Buffer.buffer();
      completed++;
      record(System.nanoTime() - sentAt);
      send();
    }
  }

  private static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
        return Integer.parseInt(line.substring(colon + 1).trim());
      }
    }
    return -1;
  }

  private static int indexOf(Buffer buffer, byte[] needle) {
    outer:
    for (int i = 0; i <= buffer.length() - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (buffer.getByte(i + j) != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
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
