package dev.relaybroker.soak;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.SocketAddress;

import dev.relaybroker.support.BrokerProcess;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * scripts/soak: days of a broker's life in minutes. One broker (the launcher, a real process) in persist mode against
 * the emulator in another process, with time compressed through options only (ping interval, backoff caps, request
 * timeouts), driven by a seeded schedule of cloud faults on every route and on /v1/ws, cloud restarts, one long
 * outage, token refreshes, takeovers by a second broker and takeovers back; while 16 clients poll the session (TCP
 * and socket), SDK-like clients come and go, /ws streams reconnect with sinceSeq and garbage connections arrive.
 * Writes target/soak/report.json and prints a table; exits 1 when a figure misses its goal.
 */
public final class SoakMain {
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
  private static final String API_KEY = "br_soak0000000000000000000000000000";
  private static final String NAME = "soak";
  private static final Path ROOT = Path.of("").toAbsolutePath();
  private static final Path OUT = ROOT.resolve("target/soak");
  /** The compressed backoff caps (cloud retries and realtime reconnects); "ready and online within one cap". */
  private static final long BACKOFF_CAP_MS = 3000;
  private static final int POLLERS = 16;
  private static final long SAMPLE_EVERY_MS = 20_000;
  private static final long OUTAGE_MS = 120_000;

  private final long minutes;
  private final long seed;
  private final Random random;
  private final long startedAt = System.currentTimeMillis();
  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(4));
  private final AnswerTimeline timeline = new AnswerTimeline();
  private final List<JsonObject> samples = new ArrayList<>();
  private final List<String> events = new ArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  /** Set around a resource sample, so connections that come and go do not count as growth. */
  private final AtomicBoolean quiet = new AtomicBoolean(false);
  private final AtomicLong sdkClients = new AtomicLong();
  private final AtomicLong garbageConnections = new AtomicLong();
  private final AtomicLong wsEvents = new AtomicLong();
  private final AtomicLong wsLost = new AtomicLong();
  private final AtomicLong wsReconnects = new AtomicLong();
  private final AtomicLong refreshes = new AtomicLong();
  private final AtomicLong faultsInjected = new AtomicLong();
  private final AtomicLong brokerExits = new AtomicLong();

  private BrokerProcess cloud;
  private int cloudPort;
  private String cloudUrl;
  private String workspaceKey;
  private BrokerProcess broker;
  private int apiPort;
  private String socketPath;
  private long outageStart;
  private long outageEnd;
  private int outageLogStartLine;
  private int outageLogEndLine;
  private int takeovers;

  private SoakMain(long minutes, long seed) {
    this.minutes = minutes;
    this.seed = seed;
    this.random = new Random(seed);
  }

  /** scripts/soak's arguments; {@code --help} prints the usage instead of starting a soak nobody asked for. */
  @picocli.CommandLine.Command(name = "scripts/soak", mixinStandardHelpOptions = true,
    description = "Days of a broker's life in minutes: one broker (the launcher, a real process) against the emulator "
      + "in another process, under a seeded schedule of cloud faults, restarts, a 2-minute outage and takeovers, with "
      + "clients attached. Prints a table; writes target/soak/report.json.")
  static final class Arguments {
    @picocli.CommandLine.Option(names = "--minutes", paramLabel = "N", defaultValue = "10",
      description = "How long (at least 6; default ${DEFAULT-VALUE}).")
    long minutes;
    @picocli.CommandLine.Option(names = "--seed", paramLabel = "S", description = "The schedule's seed (default: random); "
      + "a run prints the command that repeats it.")
    Long seed;
  }

  public static void main(String[] args) throws Exception {
    Arguments arguments = new Arguments();
    picocli.CommandLine commandLine = new picocli.CommandLine(arguments);
    try {
      if (picocli.CommandLine.printHelpIfRequested(commandLine.parseArgs(args))) {
        System.exit(0);
      }
    } catch (picocli.CommandLine.ParameterException wrong) {
      System.err.println("soak: " + wrong.getMessage());
      commandLine.usage(System.err);
      System.exit(2);
    }
    long minutes = arguments.minutes;
    long seed = arguments.seed != null ? arguments.seed : System.nanoTime() % 1_000_000;
    if (minutes < 6) {
      System.err.println("soak: --minutes must be at least 6 (the schedule holds a 2-minute outage and two takeovers)");
      System.exit(2);
    }
    SoakMain soak = new SoakMain(minutes, seed);
    int exit;
    try {
      exit = soak.run();
    } finally {
      soak.shutdown();
    }
    System.exit(exit);
  }

  // -----------------------------------------------------------------------------------------------------------
  // The run
  // -----------------------------------------------------------------------------------------------------------

  private int run() throws Exception {
    progress("soak: " + minutes + " min, seed " + seed + " (scripts/soak --minutes " + minutes + " --seed " + seed + " repeats it)");
    deleteTree(OUT);
    Files.createDirectories(OUT);
    Files.writeString(OUT.resolve("broker.json"), brokerConfig().encodePrettily());
    startCloud(0);
    workspaceKey = "rk_test_soak" + Long.toHexString(seed) + "0000000000000000";
    post(cloudUrl + "/_emulator/workspaces", new JsonObject().put("api_key", workspaceKey));
    broker = startBroker(OUT.resolve("a"), "A");
    apiPort = port(broker);
    socketPath = OUT.resolve("a/broker.sock").toString();
    awaitReadyAndOnline(30_000);
    progress("broker ready and online; clients attach");

    startClients();
    List<Action> schedule = schedule();
    long durationMs = minutes * 60_000;
    long nextSample = startedAt + SAMPLE_EVERY_MS;
    long nextFault = now() + 5_000;
    long nextRefresh = now() + 5_000;
    long lastProgress = now();
    int nextAction = 0;
    while (now() - startedAt < durationMs - 60_000) {
      long t = now() - startedAt;
      if (inOutage() && now() - outageStart >= OUTAGE_MS) {
        endOutage();
      }
      if (nextAction < schedule.size() && t >= schedule.get(nextAction).atMs()) {
        schedule.get(nextAction++).run().run();
        continue;
      }
      if (now() >= nextFault && !inOutage()) {
        injectRandomFault();
        nextFault = now() + 4_000 + random.nextInt(8_000);
      }
      if (now() >= nextRefresh) {
        refreshAsync();
        nextRefresh = now() + 3_000 + random.nextInt(4_000);
      }
      if (now() >= nextSample) {
        sample();
        nextSample += SAMPLE_EVERY_MS;
      }
      if (now() - lastProgress >= 60_000) {
        lastProgress = now();
        progress(String.format(Locale.ROOT, "  minute %d of %d: %d answers, %d faults, %d refreshes, %d takeovers",
          (now() - startedAt) / 60_000, minutes, timeline.answers(), faultsInjected.get(), refreshes.get(), takeovers));
      }
      if (!broker.isAlive()) {
        brokerExits.incrementAndGet();
        progress("the broker exited: " + tail(broker.stderr(), 20));
        break;
      }
      Thread.sleep(50);
    }

    // The schedule ends: a healthy cloud again. The broker must be ready and online within one backoff cap.
    post(cloudUrl + "/_emulator/faults", null, "DELETE");
    long recoveryStart = now();
    long recoveredAfter = awaitReadyAndOnline(30_000) - recoveryStart;
    event("schedule ended; ready and online " + recoveredAfter + " ms after the faults were cleared");
    while (now() - startedAt < durationMs) {
      if (now() >= nextSample) {
        sample();
        nextSample += SAMPLE_EVERY_MS;
      }
      Thread.sleep(100);
    }
    sample();
    running.set(false);
    Thread.sleep(1500);
    JsonArray history = tokenHistory();
    return report(recoveredAfter, history);
  }

  private boolean inOutage() {
    return outageStart > 0 && outageEnd == 0;
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  /** Time compressed through options only: the same code paths as a day-long run, with shorter waits. */
  private static JsonObject brokerConfig() {
    return new JsonObject()
      .put("channels", new JsonArray().add("general").add("soak"))
      .put("cloud", new JsonObject()
        .put("requestTimeoutMs", 3000)
        .put("connectTimeoutMs", 1000)
        .put("retryInitialDelayMs", 200)
        .put("retryMaxDelayMs", BACKOFF_CAP_MS))
      .put("presence", new JsonObject()
        .put("pingIntervalMs", 2000)
        .put("reconnectInitialDelayMs", 200)
        .put("reconnectMaxDelayMs", BACKOFF_CAP_MS)
        .put("connectTimeoutMs", 2000));
  }

  // -----------------------------------------------------------------------------------------------------------
  // The schedule
  // -----------------------------------------------------------------------------------------------------------

  private record Action(long atMs, String what, Runnable run) {
  }

  /**
   * Seeded: a cloud restart every few minutes, one 2-minute full outage near the middle, a takeover by a second
   * broker (and the takeover back) every few minutes, none of them overlapping; random faults fill the rest.
   */
  private List<Action> schedule() {
    long durationMs = minutes * 60_000 - 60_000; // the last minute is the recovery check
    long outageAt = durationMs * 45 / 100 + random.nextInt(20_000);
    List<Action> actions = new ArrayList<>();
    actions.add(new Action(outageAt, "outage", this::fullOutage));
    for (long at = 90_000 + random.nextInt(30_000); at < durationMs - 40_000; at += 150_000 + random.nextInt(60_000)) {
      if (Math.abs(at - outageAt) > 60_000 && at < outageAt || at > outageAt + OUTAGE_MS + 20_000) {
        actions.add(new Action(at, "restart", this::restartCloud));
      }
    }
    for (long at = 60_000 + random.nextInt(30_000); at < durationMs - 60_000; at += 200_000 + random.nextInt(60_000)) {
      if (at + 40_000 < outageAt || at > outageAt + OUTAGE_MS + 10_000) {
        actions.add(new Action(at, "takeover", this::takeoverAndBack));
      }
    }
    actions.sort((a, b) -> Long.compare(a.atMs(), b.atMs()));
    event("schedule: " + String.join(", ", actions.stream().map(a -> a.what() + "@" + a.atMs() / 1000 + "s").toList()));
    return actions;
  }

  private static final String[] ROUTES = {
    "POST /v1/agents/*/rotate-token", "POST /v1/agents", "GET /v1/agents/*", "POST /v1/agents/*/takeover",
    "POST /v1/channels", "POST /v1/channels/*/join", "GET /v1/agent", "PATCH /v1/agents/*", "GET /v1/ws"};

  private void injectRandomFault() {
    String[] route = ROUTES[random.nextInt(ROUTES.length)].split(" ");
    JsonObject fault = new JsonObject().put("method", route[0]).put("path", route[1]);
    boolean realtime = route[1].equals("/v1/ws");
    switch (random.nextInt(realtime ? 6 : 5)) {
      case 0 -> fault.put("status", 500 + random.nextInt(4)).put("count", 2 + random.nextInt(8));
      case 1 -> fault.put("status", 429).put("retry_after", 1 + random.nextInt(2)).put("count", 1 + random.nextInt(3));
      case 2 -> fault.put("kind", "reset").put("count", 1 + random.nextInt(3));
      case 3 -> fault.put("kind", "freeze").put("count", 1);
      case 4 -> fault.put("kind", realtime ? "mute" : "delay").put("delay_ms", 200 + random.nextInt(1500)).put("count", 1 + random.nextInt(2));
      default -> fault.put("kind", "drop").put("delay_ms", random.nextInt(2000)).put("count", 1 + random.nextInt(2));
    }
    try {
      post(cloudUrl + "/_emulator/faults", fault);
      faultsInjected.incrementAndGet();
      // A fault on new realtime upgrades only bites when the broker reconnects: now and then, make it.
      if (realtime && random.nextBoolean()) {
        restartCloud(200);
      }
    } catch (IOException e) {
      event("could not inject a fault (cloud restarting?): " + e.getMessage());
    }
  }

  private void restartCloud() {
    restartCloud(1000 + random.nextInt(4000));
  }

  /** The cloud process stops (SIGTERM) and comes back on the same port with the same state file. */
  private void restartCloud(long downMs) {
    event("cloud restart (" + downMs + " ms down)");
    cloud.close();
    sleep(downMs);
    startCloud(cloudPort);
  }

  /** The cloud is gone (connection refused) for {@link #OUTAGE_MS}; refreshes and clients go on meanwhile. */
  private void fullOutage() {
    event("full outage: the cloud is gone for " + OUTAGE_MS / 1000 + " s");
    outageLogStartLine = broker.stderr().size();
    outageStart = now();
    cloud.close();
  }

  private void endOutage() {
    outageEnd = now();
    outageLogEndLine = broker.stderr().size();
    startCloud(cloudPort);
    event("outage over");
  }

  /**
   * A second installation takes the agent over (--reclaim always): the broker must stop serving at once (409), then
   * the second one stops (it marks the agent offline) and a refresh of the first takes the agent back.
   */
  private void takeoverAndBack() {
    takeovers++;
    event("takeover " + takeovers + " by a second broker");
    try (BrokerProcess second = startBroker(OUT.resolve("b"), "B")) {
      int port = port(second);
      long deadline = now() + 60_000;
      while (now() < deadline && status(port, "/api/session?wait=0") != 200) {
        sleep(200);
      }
      sleep(3_000 + random.nextInt(5_000));
    }
    event("second broker stopped; taking the agent back");
    long deadline = now() + 60_000;
    while (now() < deadline) {
      try {
        JsonObject answer = request("POST", "http://127.0.0.1:" + apiPort + "/api/session/refresh", null, true);
        if ("ready".equals(answer.getString("state"))) {
          event("taken back");
          return;
        }
      } catch (IOException e) {
        // a refresh that failed (the cloud's faults): try again
      }
      sleep(1_000);
    }
    event("could not take the agent back within 60 s");
  }

  private void refreshAsync() {
    refreshes.incrementAndGet();
    HttpClient client = vertx.createHttpClient();
    client.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(apiPort)
        .setURI("/api/session/refresh").putHeader("X-API-Key", API_KEY))
      .compose(r -> r.send()).compose(r -> r.body())
      .onComplete(done -> client.close());
  }

  // -----------------------------------------------------------------------------------------------------------
  // Processes
  // -----------------------------------------------------------------------------------------------------------

  private void startCloud(int port) {
    List<String> command = List.of("java", "-XX:+UseSerialGC", "-jar", "build/relay-broker.jar", "emulator", "--port", String.valueOf(port),
      "--state-file", OUT.resolve("cloud.json").toString());
    for (int tries = 0; ; tries++) {
      cloud = BrokerProcess.exec(ROOT, Map.of(), command);
      try {
        cloudPort = port(cloud);
        cloudUrl = "http://127.0.0.1:" + cloudPort;
        return;
      } catch (AssertionError e) {
        cloud.close();
        if (tries == 5) {
          throw new IllegalStateException("the emulator did not start on port " + port + ": " + cloud.stderr());
        }
        sleep(500);
      }
    }
  }

  private BrokerProcess startBroker(Path stateDir, String label) {
    Map<String, String> environment = new HashMap<>();
    environment.put("RELAY_BROKER_API_KEY", API_KEY);
    String javaOpts = System.getenv("RELAY_BROKER_JAVA_OPTS");
    if (javaOpts != null) {
      environment.put("RELAY_BROKER_JAVA_OPTS", javaOpts);
    }
    return BrokerProcess.exec(ROOT, environment, List.of("scripts/relay-broker", "up", "--name", NAME,
      "--base-url", cloudUrl, "--workspace-key", workspaceKey, "--state-dir", stateDir.toString(),
      "--reclaim", "always", "--config", OUT.resolve("broker.json").toString()));
  }

  private static int port(BrokerProcess process) {
    Matcher matcher = LISTENING.matcher(process.awaitLine(l -> LISTENING.matcher(l).find()));
    matcher.find();
    return Integer.parseInt(matcher.group(1));
  }

  /** Polls /health until the session is served and the realtime connection is up; returns when. */
  private long awaitReadyAndOnline(long timeoutMs) {
    long deadline = now() + timeoutMs;
    while (now() < deadline) {
      try {
        JsonObject health = request("GET", "http://127.0.0.1:" + apiPort + "/health", null, false);
        if ("ready".equals(health.getString("state")) && Boolean.TRUE.equals(health.getBoolean("relaycastConnected"))) {
          return now();
        }
      } catch (IOException e) {
        // not yet
      }
      sleep(20);
    }
    throw new IllegalStateException("the broker was not ready and online within " + timeoutMs + " ms");
  }

  // -----------------------------------------------------------------------------------------------------------
  // Clients
  // -----------------------------------------------------------------------------------------------------------

  private void startClients() {
    for (int i = 0; i < POLLERS; i++) {
      boolean overSocket = i % 2 == 1;
      HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(1));
      vertx.runOnContext(v -> poll(client, overSocket));
    }
    for (int i = 0; i < 2; i++) {
      WsFollower follower = new WsFollower();
      vertx.runOnContext(v -> follower.connect());
    }
    vertx.setPeriodic(1_000, id -> sdkLikeClient(random.nextBoolean()));
    vertx.setPeriodic(1_500, id -> garbageConnection());
  }

  private RequestOptions sessionRequest(boolean overSocket) {
    RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET).setURI("/api/session").setHost("localhost")
      .setTimeout(15_000);
    return overSocket ? request.setServer(SocketAddress.domainSocketAddress(socketPath))
      : request.setPort(apiPort).setHost("127.0.0.1").putHeader("X-API-Key", API_KEY);
  }

  private void poll(HttpClient client, boolean overSocket) {
    if (!running.get()) {
      return;
    }
    long sent = now();
    client.request(sessionRequest(overSocket))
      .compose(r -> r.send().compose(response -> response.body().map(body -> {
        JsonObject json = body.length() == 0 ? new JsonObject() : body.toJsonObject();
        return new Answer(response.statusCode(), json.getString("token_fingerprint"), json.getString("code"), sent, now());
      })))
      .onComplete(done -> {
        if (running.get()) {
          timeline.record(done.succeeded() ? done.result()
            : new Answer(0, null, String.valueOf(done.cause().getMessage()), sent, now()));
        }
        vertx.setTimer(20, t -> poll(client, overSocket));
      });
  }

  /** A /ws stream that reads for a while, goes away, and comes back with sinceSeq: no event may be missing. */
  private final class WsFollower {
    private final WebSocketClient client = vertx.createWebSocketClient();
    private long lastSeq = -1;

    void connect() {
      if (!running.get()) {
        return;
      }
      var ws = client.webSocket();
      ws.textMessageHandler(text -> {
        long seq = new JsonObject(text).getLong("seq");
        if (lastSeq >= 0 && seq > lastSeq + 1) {
          wsLost.addAndGet(seq - lastSeq - 1);
          event("/ws: events " + (lastSeq + 1) + ".." + (seq - 1) + " missing after a reconnect");
        }
        if (seq > lastSeq) {
          lastSeq = seq;
          wsEvents.incrementAndGet();
        }
      });
      ws.closeHandler(v -> vertx.setTimer(200 + random.nextInt(1500), t -> connect()));
      ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(apiPort)
          .setURI("/ws?sinceSeq=" + Math.max(lastSeq, 0)).addHeader("X-API-Key", API_KEY))
        .onSuccess(open -> {
          wsReconnects.incrementAndGet();
          vertx.setTimer(5_000 + random.nextInt(15_000), t -> open.close());
        })
        .onFailure(e -> vertx.setTimer(500, t -> connect()));
    }
  }

  /** What an SDK does: read connection.json, check health, read the session, renew the lease, vanish. */
  private void sdkLikeClient(boolean overSocket) {
    if (!running.get() || quiet.get()) {
      return;
    }
    sdkClients.incrementAndGet();
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true), new PoolOptions().setHttp1MaxSize(1));
    vertx.fileSystem().readFile(OUT.resolve("a/connection.json").toString())
      .compose(file -> {
        JsonObject connection = file.toJsonObject();
        RequestOptions base = new RequestOptions().setHost("127.0.0.1").setPort(connection.getInteger("port"))
          .putHeader("X-API-Key", connection.getString("api_key")).setTimeout(10_000);
        if (overSocket) {
          base.setServer(SocketAddress.domainSocketAddress(connection.getString("socket")));
        }
        return client.request(new RequestOptions(base).setURI("/health")).compose(r -> r.send()).compose(r -> r.body())
          .compose(v -> client.request(new RequestOptions(base).setURI("/api/session")).compose(r -> r.send()).compose(r -> r.body()))
          .compose(v -> client.request(new RequestOptions(base).setMethod(HttpMethod.POST).setURI("/api/session/renew"))
            .compose(r -> r.send()).compose(r -> r.body()));
      })
      .onComplete(done -> client.close());
  }

  /** Random bytes on a fresh connection, then gone: the broker must shrug it off. */
  private void garbageConnection() {
    if (!running.get() || quiet.get()) {
      return;
    }
    garbageConnections.incrementAndGet();
    NetClient net = vertx.createNetClient();
    byte[] garbage = new byte[1 + random.nextInt(400)];
    random.nextBytes(garbage);
    SocketAddress target = random.nextBoolean() ? SocketAddress.inetSocketAddress(apiPort, "127.0.0.1")
      : SocketAddress.domainSocketAddress(socketPath);
    net.connect(target).onComplete(done -> {
      if (done.succeeded()) {
        done.result().write(Buffer.buffer(garbage));
        vertx.setTimer(100 + random.nextInt(400), t -> done.result().close().onComplete(v -> net.close()));
      } else {
        net.close();
      }
    });
  }

  // -----------------------------------------------------------------------------------------------------------
  // Resources
  // -----------------------------------------------------------------------------------------------------------

  /**
   * Heap after a full GC and pending Vert.x timers from a class histogram; then RSS, threads and fds from /proc,
   * after the JVM has handed freed native memory back (glibc keeps what a compilation used until the broker's own
   * trim, once a minute): what the process holds, as the heap figure is what it keeps alive.
   */
  private void sample() {
    quiet.set(true);
    sleep(1_500); // churning connections drain
    long pid = broker.pid();
    JsonObject sample = new JsonObject().put("atSecs", (now() - startedAt) / 1000);
    try {
      String histogram = jcmd(pid, "GC.class_histogram");
      for (String line : histogram.split("\n")) {
        String[] cols = line.trim().split("\\s+");
        if (line.trim().startsWith("Total") && cols.length >= 3) {
          sample.put("heapAfterGcKb", Long.parseLong(cols[2]) / 1024);
        } else if (cols.length >= 4 && cols[3].equals("io.vertx.core.impl.VertxImpl$InternalTimerHandler")) {
          sample.put("timers", Long.parseLong(cols[1]));
        }
      }
      if (!sample.containsKey("timers")) {
        sample.put("timers", 0L);
      }
      jcmd(pid, "System.trim_native_heap"); // JDK 17.0.9+ and 21+; older ones say so and the RSS is as found
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          sample.put("rssKb", Long.parseLong(line.replaceAll("\\D", "")));
        } else if (line.startsWith("Threads:")) {
          sample.put("threads", Long.parseLong(line.replaceAll("\\D", "")));
        }
      }
      try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
        sample.put("fds", fds.count());
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      sample.put("error", String.valueOf(e));
    } finally {
      quiet.set(false);
    }
    samples.add(sample);
  }

  private static String jcmd(long pid, String command) throws IOException, InterruptedException {
    Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
      String.valueOf(pid), command).redirectErrorStream(true).start();
    String output;
    try (InputStream in = jcmd.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    jcmd.waitFor(30, TimeUnit.SECONDS);
    return output;
  }

  // -----------------------------------------------------------------------------------------------------------
  // The report
  // -----------------------------------------------------------------------------------------------------------

  private JsonArray tokenHistory() throws IOException {
    return request("POST", cloudUrl + "/_emulator/agents/tokens",
      new JsonObject().put("workspace_key", workspaceKey).put("name", NAME), false).getJsonArray("data");
  }

  private int report(long recoveredAfterMs, JsonArray history) throws IOException {
    Map<String, long[]> validity = new HashMap<>(); // fingerprint -> [issued, revoked or MAX]
    for (Object o : history) {
      JsonObject h = (JsonObject) o;
      validity.put(h.getString("fingerprint"), new long[]{h.getLong("issued_at_ms"), h.getLong("revoked_at_ms", Long.MAX_VALUE)});
    }
    AnswerTimeline.Verdict verdict = timeline.judge(validity);
    List<String> stderr = broker.stderr();
    long outageBytes = bytes(stderr.subList(outageLogStartLine, Math.max(outageLogStartLine, outageLogEndLine)));
    // The outage's steady part: what its first 30 s said (the first retries, logged in full) left out.
    List<String> outageLines = stderr.subList(outageLogStartLine, Math.max(outageLogStartLine, outageLogEndLine));
    long steadyBytes = bytes(outageLines.stream().filter(l -> lineTime(l) >= outageStart + 30_000).toList());
    double steadyBytesPerHour = steadyBytes * 3600_000.0 / Math.max(1, outageEnd - outageStart - 30_000);
    long blocked = stderr.stream().filter(l -> l.contains("has been blocked for")).count();

    List<JsonObject> rows = new ArrayList<>();
    rows.add(row("answers", "session answers (16 pollers, TCP and socket)", timeline.answers(), null, true));
    rows.add(row("answers", "non-200 while the cloud still honoured the served token", verdict.withheld(), "= 0", verdict.withheld() == 0));
    rows.add(row("answers", "no answer at all (connection errors, timeouts)", verdict.unanswered(), "= 0", verdict.unanswered() == 0));
    rows.add(row("answers", "dead tokens served after the broker knew (a later answer said so)", verdict.deadServed(), "= 0", verdict.deadServed() == 0));
    rows.add(row("answers", "longest a revoked token was served (ms, the cloud's revocation to the broker's next answer)", verdict.longestDeadWindowMs(), null, true));
    rows.add(row("/ws", "events received by 2 reconnecting streams", wsEvents.get(), null, true));
    rows.add(row("/ws", "events lost across " + wsReconnects.get() + " reconnects", wsLost.get(), "= 0", wsLost.get() == 0));
    for (String metric : List.of("rssKb", "heapAfterGcKb", "fds", "threads", "timers")) {
      double growth = growth(metric);
      rows.add(row("resources", metric + ": growth from minute 2 to the end (%) " + range(metric), Math.round(growth * 10) / 10.0, "<= 5",
        growth <= 5.0));
    }
    rows.add(row("log", "bytes during the " + OUTAGE_MS / 1000 + " s outage", outageBytes, null, true));
    rows.add(row("log", "bytes per hour in the outage's steady part (a day: x24)", Math.round(steadyBytesPerHour), "< 40000",
      steadyBytesPerHour < 40_000));
    rows.add(row("log", "blocked-thread warnings", blocked, "= 0", blocked == 0));
    rows.add(row("life", "broker exits", brokerExits.get(), "= 0", brokerExits.get() == 0));
    rows.add(row("life", "ready and online after the schedule (ms)", recoveredAfterMs, "<= " + (BACKOFF_CAP_MS + 1000),
      recoveredAfterMs <= BACKOFF_CAP_MS + 1000));
    rows.add(row("load", "faults injected / refreshes / takeovers / SDK clients / garbage connections",
      faultsInjected.get() + " / " + refreshes.get() + " / " + takeovers + " / " + sdkClients.get() + " / " + garbageConnections.get(), null, true));

    boolean allMet = rows.stream().allMatch(r -> r.getBoolean("met"));
    JsonObject report = new JsonObject().put("minutes", minutes).put("seed", seed).put("allMet", allMet)
      .put("rows", new JsonArray(rows)).put("samples", new JsonArray(samples)).put("events", new JsonArray(events))
      .put("violations", new JsonArray(verdict.examples()));
    Files.writeString(OUT.resolve("report.json"), report.encodePrettily());
    Files.write(OUT.resolve("broker-stderr.log"), stderr);

    StringBuilder table = new StringBuilder();
    table.append(String.format(Locale.ROOT, "%nrelay-broker soak: %d min, seed %d%n%n", minutes, seed));
    table.append(String.format(Locale.ROOT, "| %-9s | %-92s | %14s | %8s | %-4s |%n", "area", "figure", "value", "goal", "met"));
    table.append("|-----------|").append("-".repeat(94)).append("|----------------|----------|------|\n");
    for (JsonObject r : rows) {
      table.append(String.format(Locale.ROOT, "| %-9s | %-92s | %14s | %8s | %-4s |%n", r.getString("area"), r.getString("figure"),
        r.getValue("value"), r.getString("goal", ""), r.getString("goal") == null ? "" : r.getBoolean("met") ? "yes" : "NO"));
    }
    table.append(allMet ? "\nevery goal met" : "\nSOME GOALS MISSED: see target/soak/report.json (violations, events)").append('\n');
    System.out.print(table);
    Files.writeString(OUT.resolve("report.txt"), table.toString());
    return allMet ? 0 : 1;
  }

  private static JsonObject row(String area, String figure, Object value, String goal, boolean met) {
    JsonObject row = new JsonObject().put("area", area).put("figure", figure).put("value", value).put("met", met);
    return goal == null ? row : row.put("goal", goal);
  }

  /** Growth from minute 2 to the end, in percent of the minute-2 value (see {@link Trend}). */
  private double growth(String metric) {
    return Trend.growthPercent(samples.stream().filter(s -> s.containsKey(metric))
      .map(s -> new Trend.Point(s.getLong("atSecs"), s.getLong(metric))).toList(), 120);
  }

  private String range(String metric) {
    List<Long> values = samples.stream().filter(s -> s.containsKey(metric)).map(s -> s.getLong(metric)).toList();
    return values.isEmpty() ? "" : "[" + values.get(0) + " .. " + values.get(values.size() - 1) + "]";
  }

  private static long bytes(List<String> lines) {
    return lines.stream().mapToLong(l -> l.getBytes(StandardCharsets.UTF_8).length + 1).sum();
  }

  /** The broker's log lines start with HH:mm:ss.SSS (today, UTC as the broker prints it); else 0. */
  private long lineTime(String line) {
    if (line.length() < 12 || line.charAt(2) != ':' || line.charAt(8) != '.') {
      return 0;
    }
    try {
      java.time.LocalTime time = java.time.LocalTime.parse(line.substring(0, 12));
      return java.time.LocalDate.now(java.time.ZoneId.systemDefault()).atTime(time)
        .atZone(java.time.ZoneId.systemDefault()).toInstant().toEpochMilli();
    } catch (RuntimeException e) {
      return 0;
    }
  }

  // -----------------------------------------------------------------------------------------------------------
  // Small things
  // -----------------------------------------------------------------------------------------------------------

  private void event(String text) {
    String line = String.format(Locale.ROOT, "%6.1fs %s", (now() - startedAt) / 1000.0, text);
    synchronized (events) {
      events.add(line);
    }
    System.err.println("  " + line);
  }

  private static void progress(String text) {
    System.err.println(text);
  }

  private static String tail(List<String> lines, int n) {
    return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private int status(int port, String path) {
    try {
      HttpURLConnection connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
      connection.setRequestProperty("X-API-Key", API_KEY);
      connection.setConnectTimeout(2000);
      connection.setReadTimeout(10_000);
      return connection.getResponseCode();
    } catch (IOException e) {
      return 0;
    }
  }

  private static void post(String url, JsonObject body) throws IOException {
    post(url, body, "POST");
  }

  private static void post(String url, JsonObject body, String method) throws IOException {
    HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
    connection.setRequestMethod(method);
    connection.setConnectTimeout(2000);
    connection.setReadTimeout(10_000);
    if (body != null) {
      connection.setDoOutput(true);
      connection.setRequestProperty("Content-Type", "application/json");
      connection.getOutputStream().write(body.encode().getBytes(StandardCharsets.UTF_8));
    }
    int status = connection.getResponseCode();
    if (status >= 300) {
      throw new IOException(method + " " + url + " answered " + status);
    }
    connection.getInputStream().close();
  }

  private static JsonObject request(String method, String url, JsonObject body, boolean withKey) throws IOException {
    HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
    connection.setRequestMethod(method);
    connection.setConnectTimeout(2000);
    connection.setReadTimeout(15_000);
    if (withKey) {
      connection.setRequestProperty("X-API-Key", API_KEY);
    }
    if (body != null) {
      connection.setDoOutput(true);
      connection.setRequestProperty("Content-Type", "application/json");
      connection.getOutputStream().write(body.encode().getBytes(StandardCharsets.UTF_8));
    }
    int status = connection.getResponseCode();
    try (InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream()) {
      String text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
      if (status >= 300 && !url.endsWith("/refresh")) {
        throw new IOException(method + " " + url + " answered " + status + ": " + text);
      }
      return text.isEmpty() ? new JsonObject() : new JsonObject(text);
    }
  }

  private void shutdown() {
    running.set(false);
    if (broker != null) {
      broker.close();
    }
    if (cloud != null) {
      cloud.close();
    }
    vertx.close();
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
    }
  }
}
