package dev.relaybroker.bench;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.BrokerApplication;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.PresenceOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.CapturedLogs;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.relaybroker.support.Await.await;

/**
 * scripts/bench: what makes a broker fast, each figure beside a baseline measured in the same run. The machine is
 * shared and noisy, so timings are medians with their spread (min..max), and the ratio to the baseline is the
 * figure to read; absolute numbers stand beside it as a note. Writes target/bench/report.json.
 */
public final class BenchMain {
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
  private static final String API_KEY = "br_bench000000000000000000000000000";
  private static final Path ROOT = Path.of("").toAbsolutePath();
  private static final Path OUT = ROOT.resolve("target/bench");

  private final boolean quick;
  private final List<JsonObject> rows = new ArrayList<>();

  private BenchMain(boolean quick) {
    this.quick = quick;
  }

  /** Usage: BenchMain [--quick] [--only roundtrips|coldstart|throughput|memory|endurance|peer] */
  public static void main(String[] args) throws Exception {
    List<String> arguments = Arrays.asList(args);
    boolean quick = arguments.contains("--quick");
    int only = arguments.indexOf("--only");
    String section = only >= 0 && only + 1 < arguments.size() ? arguments.get(only + 1) : "all";
    Files.createDirectories(OUT);
    // stdout is for the table; the in-process brokers would print their listening lines there too.
    PrintStream table = System.out;
    System.setOut(new PrintStream(OutputStream.nullOutputStream()));
    BenchMain bench = new BenchMain(quick);
    long started = System.nanoTime();
    System.err.println("relay-broker bench (" + (quick ? "quick" : "full") + ", " + section + ")");
    if (section.equals("all") || section.equals("roundtrips")) {
      bench.roundTrips();
    }
    if (section.equals("all") || section.equals("coldstart")) {
      bench.coldStart();
    }
    if (section.equals("all") || section.equals("throughput")) {
      bench.throughput();
    }
    if (section.equals("all") || section.equals("memory")) {
      bench.idleMemory();
    }
    if (section.equals("all") || section.equals("endurance")) {
      bench.endurance();
    }
    if (section.equals("all") || section.equals("peer")) {
      bench.peer();
    }
    bench.report((System.nanoTime() - started) / 1e9, table);
    System.exit(0);
  }

  // -----------------------------------------------------------------------------------------------------------
  // 1. Round trips to a ready session, counted from the emulator's request log
  // -----------------------------------------------------------------------------------------------------------

  /** A child process in the project root, with the bench's local API key; stopped with SIGTERM on close. */
  private static BrokerProcess spawn(List<String> command, Map<String, String> env) {
    Map<String, String> environment = new HashMap<>(env);
    environment.put("RELAY_BROKER_API_KEY", API_KEY);
    // Lets a lever be measured on the launched broker: RELAY_BROKER_JAVA_OPTS=... scripts/bench --only throughput
    String javaOpts = System.getenv("RELAY_BROKER_JAVA_OPTS");
    if (javaOpts != null && !environment.containsKey("RELAY_BROKER_JAVA_OPTS")) {
      environment.put("RELAY_BROKER_JAVA_OPTS", javaOpts);
    }
    return BrokerProcess.exec(ROOT, environment, command);
  }

  /** The port from the first "listening on http://127.0.0.1:P" line a process prints. */
  private static int port(BrokerProcess process) {
    Matcher matcher = LISTENING.matcher(process.awaitLine(l -> LISTENING.matcher(l).find()));
    matcher.find();
    return Integer.parseInt(matcher.group(1));
  }

  /** The emulator in a process of its own, as a real cloud would be, with one workspace. */
  private record Cloud(BrokerProcess process, String url, String key) implements AutoCloseable {
    static Cloud start() throws IOException {
      BrokerProcess process = spawn(List.of("java", "-jar", "build/relay-broker.jar", "emulator", "--port", "0"), Map.of());
      String url = "http://127.0.0.1:" + port(process);
      String key = EmulatorDriver.randomKey();
      post(url + "/_emulator/workspaces", new JsonObject().put("api_key", key));
      return new Cloud(process, url, key);
    }

    @Override
    public void close() {
      process.close();
    }
  }

  private void roundTrips() throws Exception {
    progress("1/6 round trips to a ready session");
    try (EmulatorDriver emulator = EmulatorDriver.start(Engine.CURRENT)) {
      String key = emulator.createWorkspace();
      Path dir = Files.createTempDirectory("bench-rt");
      BrokerOptions options = Machine.options(emulator, key, "bench", dir);

      startReadyStop(options);
      roundTripRow("fresh registration", emulator.requestLines(), 1);

      emulator.clearRequests();
      startReadyStop(options);
      roundTripRow("restart with a valid credential cache", emulator.requestLines(), 1);

      Files.delete(dir.resolve("credentials.json"));
      emulator.clearRequests();
      startReadyStop(options);
      roundTripRow("restart without cache, own record (current engine)", emulator.requestLines(), 3);

      emulator.setEngine(Engine.LEGACY);
      String legacyKey = emulator.createWorkspace();
      Path legacyDir = Files.createTempDirectory("bench-rt");
      BrokerOptions legacy = Machine.options(emulator, legacyKey, "bench", legacyDir);
      startReadyStop(legacy);
      Files.delete(legacyDir.resolve("credentials.json"));
      emulator.clearRequests();
      startReadyStop(legacy);
      roundTripRow("restart without cache, own record (legacy engine)", emulator.requestLines(), 4);
      emulator.setEngine(Engine.CURRENT);

      String foreignKey = emulator.createWorkspace();
      emulator.createAgent(foreignKey, "bench", new JsonObject().put("relay_broker_identity", "f".repeat(64)), "online");
      emulator.clearRequests();
      try (Machine broker = Machine.start(Machine.options(emulator, foreignKey, "bench", Files.createTempDirectory("bench-rt")))) {
        broker.awaitFailed();
      }
      List<String> refusal = emulator.requestLines();
      roundTripRow("live foreign agent refused", refusal, 2);
      long takeovers = refusal.stream().filter(l -> l.contains("/takeover") || l.contains("/rotate-token")).count();
      row("round trips", "takeover/rotate requests in the refusal", takeovers, "requests", 0.0, "goal", "= 0", takeovers == 0,
        "the live agent keeps its token");
    }
  }

  private static void startReadyStop(BrokerOptions options) {
    try (Machine broker = Machine.start(options)) {
      broker.awaitReady();
    }
  }

  private void roundTripRow(String scenario, List<String> everything, int goal) {
    // Round trips to a ready session: the offline mark of the stop that follows (SPEC §2 step 8) is not one.
    List<String> requests = everything.stream().filter(l -> !l.startsWith("PATCH /v1/agents/")).toList();
    row("round trips", scenario, requests.size(), "requests", (double) goal, "goal", "= " + goal, requests.size() == goal,
      String.join(", ", requests.stream().map(l -> l.replaceAll(" (workspace-key|agent-token|none)", "")).toList()));
  }

  // -----------------------------------------------------------------------------------------------------------
  // 2. Cold start: exec of scripts/relay-broker up -> first 200 from /api/session, vs a minimal Vert.x server
  // -----------------------------------------------------------------------------------------------------------

  private void coldStart() throws Exception {
    progress("2/6 cold start to ready");
    int runs = quick ? 5 : 12;
    try (Cloud cloud = Cloud.start()) {
      Path state = Files.createTempDirectory("bench-cold");
      List<String> broker = List.of("scripts/relay-broker", "up", "--name", "cold", "--base-url", cloud.url(),
        "--workspace-key", cloud.key(), "--state-dir", state.toString());
      // The same JDK as the launcher picks, so the ratio compares the broker with the server and not two JDKs.
      List<String> minimal = List.of(launcherJvm().get(0), "-jar", "target/bench/minimal.jar", "0");

      boolean archived = trainArchive(() -> coldStartOnce(broker, Map.of("RELAY_BROKER_CDS", "auto"), "/api/session"));

      List<Double> withCds = new ArrayList<>();
      List<Double> withoutCds = new ArrayList<>();
      List<Double> baseline = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        // Interleaved, so drift on a shared machine hits all three alike.
        baseline.add(coldStartOnce(minimal, Map.of(), "/"));
        withCds.add(coldStartOnce(broker, Map.of("RELAY_BROKER_CDS", "auto"), "/api/session"));
        withoutCds.add(coldStartOnce(broker, Map.of("RELAY_BROKER_CDS", "off"), "/api/session"));
      }
      double base = median(baseline);
      timingRow("cold start", "scripts/relay-broker up -> first 200 /api/session (launcher defaults, start-up archive "
        + (archived ? "on" : "MISSING") + ")", withCds, base, "minimal Vert.x server jar -> first 200 /", "ratio <= 1.3",
        median(withCds) / base <= 1.3, "baseline " + spread(baseline) + "; restart with cache, 1 round trip to the emulator process");
      timingRow("cold start", "the same without the archive (before)", withoutCds, base, "minimal Vert.x server jar", "(before/after)",
        null, "the archive saves " + Math.round(median(withoutCds) - median(withCds)) + " ms");
    }
  }

  /** A start that the launcher's archive training can use: it runs a broker to ready and stops it cleanly. */
  private interface Start {
    double run() throws Exception;
  }

  /**
   * Trains the launcher's start-up archive from scratch: the first clean exit records it (AppCDS below JDK 25, the
   * AOT configuration on 25, whose next start builds the cache in the background). True when an archive exists.
   */
  private static boolean trainArchive(Start start) throws Exception {
    try (var old = Files.list(ROOT.resolve("build"))) {
      for (Path file : old.filter(f -> f.getFileName().toString().matches("relay-broker(-jdk\\d+)?\\.(jsa|aot.*)")).toList()) {
        deleteTree(file);
      }
    }
    start.run();
    Thread.sleep(500);
    start.run();
    for (int i = 0; i < 300 && !archiveExists(); i++) {
      Thread.sleep(100);
    }
    return archiveExists();
  }

  private static boolean archiveExists() throws IOException {
    try (var files = Files.list(ROOT.resolve("build"))) {
      return files.anyMatch(f -> f.getFileName().toString().matches("relay-broker-jdk\\d+\\.(jsa|aot)"));
    }
  }

  private static void deleteTree(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      try (var children = Files.list(path)) {
        for (Path child : children.toList()) {
          deleteTree(child);
        }
      }
    }
    Files.deleteIfExists(path);
  }

  private double coldStartOnce(List<String> command, Map<String, String> env, String path) throws Exception {
    long t0 = System.nanoTime();
    try (BrokerProcess process = spawn(command, env)) {
      int port = port(process);
      while (true) {
        if (httpStatus("http://127.0.0.1:" + port + path) == 200) {
          return (System.nanoTime() - t0) / 1e6;
        }
        if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(30)) {
          throw new IllegalStateException("no 200 from " + command.get(0) + " within 30 s");
        }
        Thread.sleep(2);
      }
    }
  }

  // -----------------------------------------------------------------------------------------------------------
  // 3. Local API throughput and latency vs Node's http, over TCP and the Unix socket
  // -----------------------------------------------------------------------------------------------------------

  private void throughput() throws Exception {
    progress("3/6 local API throughput");
    int seconds = quick ? 2 : 10;
    int warmup = quick ? 1 : 3;
    try (Cloud cloud = Cloud.start()) {
      Path state = Files.createTempDirectory("bench-tp");
      try (BrokerProcess broker = spawn(List.of("scripts/relay-broker", "up", "--name", "tp", "--base-url", cloud.url(),
        "--workspace-key", cloud.key(), "--state-dir", state.toString()), Map.of())) {
        int port = port(broker);
        while (httpStatus("http://127.0.0.1:" + port + "/api/session") != 200) {
          Thread.sleep(20);
        }
        byte[] body = httpBody("http://127.0.0.1:" + port + "/api/session");
        Path bodyFile = OUT.resolve("session.json");
        Files.write(bodyFile, body);
        Path nodeSocket = OUT.resolve("node.sock");
        try (BrokerProcess node = spawn(List.of("node", "bench/node-baseline.mjs", bodyFile.toString(), nodeSocket.toString(), API_KEY), Map.of())) {
          JsonObject nodeAddress = new JsonObject(node.awaitLine(l -> l.startsWith("{")));
          String brokerSocket = state.resolve("broker.sock").toString();
          // An untimed drive first, so the JIT's compiling of the hot path is not billed to the first row.
          drive("tcp:" + port, 16, warmup * 2, 0);
          drive("tcp:" + nodeAddress.getInteger("port"), 16, warmup * 2, 0);
          for (int connections : List.of(1, 16, 64)) {
            for (String transport : List.of("tcp", "uds")) {
              String brokerTarget = transport.equals("tcp") ? "tcp:" + port : "uds:" + brokerSocket;
              String nodeTarget = transport.equals("tcp") ? "tcp:" + nodeAddress.getInteger("port") : "uds:" + nodeAddress.getString("socket");
              JsonObject nodeResult = drive(nodeTarget, connections, seconds, warmup, node.pid());
              JsonObject brokerResult = drive(brokerTarget, connections, seconds, warmup, broker.pid());
              double ratio = brokerResult.getDouble("rps") / nodeResult.getDouble("rps");
              boolean goalRow = connections == 64;
              row("throughput", String.format(Locale.ROOT, "GET /api/session, %s, %d conn: req/s", transport.toUpperCase(Locale.ROOT), connections),
                brokerResult.getDouble("rps"), "req/s", nodeResult.getDouble("rps"), "Node http, same bytes", goalRow ? "ratio >= 1.5" : "",
                goalRow ? ratio >= 1.5 : null, String.format(Locale.ROOT, "broker p50 %.2f ms, Node p50 %.2f / p99 %.2f ms, errors %d/%d",
                  brokerResult.getDouble("p50Ms"), nodeResult.getDouble("p50Ms"), nodeResult.getDouble("p99Ms"),
                  brokerResult.getLong("errors"), nodeResult.getLong("errors")));
              // CPU time per request is the efficiency behind req/s, and far less swayed by a noisy neighbour.
              row("throughput", String.format(Locale.ROOT, "GET /api/session, %s, %d conn: server CPU per request", transport.toUpperCase(Locale.ROOT), connections),
                brokerResult.getDouble("cpuUsPerRequest"), "us", nodeResult.getDouble("cpuUsPerRequest"), "Node http CPU per request",
                "", null, String.format(Locale.ROOT, "user+system time of the server process over the whole drive; the driver's own: %.1f us (broker) / %.1f us (Node)",
                  brokerResult.getDouble("driverCpuUsPerRequest"), nodeResult.getDouble("driverCpuUsPerRequest")));
              row("throughput", String.format(Locale.ROOT, "GET /api/session, %s, %d conn: p99", transport.toUpperCase(Locale.ROOT), connections),
                brokerResult.getDouble("p99Ms"), "ms", nodeResult.getDouble("p99Ms"), "Node http p99", goalRow ? "<= 5 ms" : "",
                goalRow ? brokerResult.getDouble("p99Ms") <= 5.0 : null, "");
            }
          }
        }
      }
    }
  }

  private JsonObject drive(String target, int connections, int seconds, int warmup, long serverPid) throws Exception {
    return drive(target, connections, seconds, warmup, serverPid, API_KEY);
  }

  private JsonObject drive(String target, int connections, int seconds, int warmup, long serverPid, String key) throws Exception {
    long cpuBefore = cpuTicks(serverPid);
    JsonObject result = drive(target, connections, seconds, warmup, key);
    long cpuAfter = cpuTicks(serverPid);
    // Linux reports utime and stime in clock ticks of 10 ms.
    return result.put("cpuUsPerRequest", (cpuAfter - cpuBefore) * 10_000.0 / Math.max(1, result.getLong("allRequests")));
  }

  private static long cpuTicks(long pid) throws IOException {
    String[] fields = Files.readString(Path.of("/proc/" + pid + "/stat")).replaceFirst("^.*\\) ", "").split(" ");
    // After the ")" of the command name: state is field 0, utime field 11, stime field 12.
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  private JsonObject drive(String target, int connections, int seconds, int warmup) throws Exception {
    return drive(target, connections, seconds, warmup, API_KEY);
  }

  private JsonObject drive(String target, int connections, int seconds, int warmup, String key) throws Exception {
    List<String> command = List.of("java", "-XX:+UseParallelGC", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
      "-Dlogback.configurationFile=" + ROOT.resolve("bench/logback-bench.xml"),
      LoadDriver.class.getName(), target, String.valueOf(connections), String.valueOf(seconds), String.valueOf(warmup), key, "/api/session");
    try (BrokerProcess driver = spawn(command, Map.of())) {
      return new JsonObject(driver.awaitLine(l -> l.startsWith("{")));
    }
  }

  // -----------------------------------------------------------------------------------------------------------
  // 4. Idle memory
  // -----------------------------------------------------------------------------------------------------------

  private void idleMemory() throws Exception {
    progress("4/6 idle memory");
    int idleSeconds = quick ? 5 : 30;
    try (Cloud cloud = Cloud.start()) {
      try (BrokerProcess broker = spawn(List.of("scripts/relay-broker", "up", "--name", "idle", "--base-url", cloud.url(),
        "--workspace-key", cloud.key(), "--state-dir", Files.createTempDirectory("bench-mem").toString()), Map.of());
           BrokerProcess minimal = spawn(List.of(launcherJvm().get(0), "-jar", "target/bench/minimal.jar", "0"), Map.of())) {
        int port = port(broker);
        port(minimal);
        while (httpStatus("http://127.0.0.1:" + port + "/api/session") != 200) {
          Thread.sleep(20);
        }
        Thread.sleep(idleSeconds * 1000L);
        double brokerMb = rssMb(broker.pid());
        double minimalMb = rssMb(minimal.pid());
        row("idle memory", "RSS " + idleSeconds + " s after ready (launcher defaults)", brokerMb, "MB", minimalMb,
          "minimal Vert.x server, plain java -jar", "<= 96 MB", brokerMb <= 96, "");
      }
    }
  }

  private static double rssMb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
      }
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  // -----------------------------------------------------------------------------------------------------------
  // 5. Flow endurance: many identity flows in one JVM
  // -----------------------------------------------------------------------------------------------------------

  private void endurance() throws Exception {
    progress("5/6 flow endurance");
    int flows = quick ? 200 : 1000;
    int blockedBefore = CapturedLogs.blockedThreadWarnings().size();
    try (EmulatorDriver emulator = EmulatorDriver.start(Engine.CURRENT)) {
      String key = emulator.createWorkspace();
      BrokerOptions options = Machine.options(emulator, key, "endurance", Files.createTempDirectory("bench-flow"))
        .setPresence(new PresenceOptions().setPingIntervalMs(30_000));
      Vertx vertx = Vertx.vertx(TestVertx.options());
      AtomicReference<Promise<Void>> ready = new AtomicReference<>();
      vertx.eventBus().<JsonObject>consumer(Addresses.SESSION_STATE, m -> {
        if ("ready".equals(m.body().getString("state"))) {
          ready.get().tryComplete();
        } else if ("failed".equals(m.body().getString("state"))) {
          ready.get().tryFail(m.body().getString("message"));
        }
      });
      for (int i = 0; i < 50; i++) {
        oneFlow(vertx, options, ready);
      }
      double heapStart = heapAfterFullGcMb();
      long t0 = System.nanoTime();
      for (int i = 0; i < flows; i++) {
        oneFlow(vertx, options, ready);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      double heapEnd = heapAfterFullGcMb();
      await(vertx.close());
      int blocked = CapturedLogs.blockedThreadWarnings().size() - blockedBefore;
      row("endurance", flows + " restart flows in one JVM: flows/s", flows / seconds, "flows/s", null, "", "", null,
        "start, ready (cached-token rollover), stop; " + String.format(Locale.ROOT, "%.1f ms per flow", seconds * 1000 / flows));
      row("endurance", "heap after full GC, end vs start", heapEnd, "MB", heapStart, "heap after the warm-up", "ratio <= 1.10",
        heapEnd / heapStart <= 1.10, "");
      row("endurance", "blocked-thread warnings (checker at 100 ms)", blocked, "warnings", 0.0, "goal", "= 0", blocked == 0, "");
    }
  }

  private static void oneFlow(Vertx vertx, BrokerOptions options, AtomicReference<Promise<Void>> ready) {
    ready.set(Promise.promise());
    BrokerApplication app = await(BrokerApplication.start(vertx, options));
    await(ready.get().future());
    await(app.stop());
  }

  private static double heapAfterFullGcMb() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
  }


  // -----------------------------------------------------------------------------------------------------------
  // 6. Peer: the program a user would pick instead, the published Rust broker, in the same run
  // -----------------------------------------------------------------------------------------------------------

  /** The newest published Rust broker: the peer every row compares with. */
  private static final String PEER_VERSION = "12.4.1";
  /** The Rust broker the previous peer tables measured: a second column in the notes. */
  private static final String EARLIER_PEER_VERSION = "9.1.6";
  /** The newest published client (the broker-facing line has no newer one). */
  private static final String CLIENT_PACKAGE = "@agent-relay/harness-driver@9.1.6";

  /** npm installs a Rust broker and the client into target/bench/peer-<version> once; later runs reuse it. */
  private static Path installPeer(String brokerVersion) throws Exception {
    String packages = "@agent-relay/broker-linux-x64@" + brokerVersion + " " + CLIENT_PACKAGE;
    Path dir = OUT.resolve("peer-" + brokerVersion);
    Path modules = dir.resolve("node_modules");
    if (Files.exists(modules.resolve("@agent-relay/broker-linux-x64/bin/agent-relay-broker"))
      && Files.exists(modules.resolve("@agent-relay/harness-driver/dist/index.js"))) {
      return modules;
    }
    Files.createDirectories(dir);
    progress("installing the peer with npm: " + packages);
    List<String> command = new ArrayList<>(List.of("npm", "install", "--no-audit", "--no-fund", "--prefix", dir.toString()));
    command.addAll(List.of(packages.split(" ")));
    Process npm = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (npm.waitFor() != 0 || !Files.exists(modules.resolve("@agent-relay/broker-linux-x64/bin/agent-relay-broker"))) {
      throw new IllegalStateException("the peer section needs npm to install " + packages + " into " + dir
        + ", and it could not (is the npm registry reachable?):\n" + output);
    }
    return modules;
  }

  /** The java binary and flags the launcher would use now (RELAY_BROKER_PRINT_JVM=1). */
  private static List<String> launcherJvm() throws Exception {
    ProcessBuilder builder = new ProcessBuilder("scripts/relay-broker").directory(ROOT.toFile())
      .redirectError(ProcessBuilder.Redirect.INHERIT);
    builder.environment().put("RELAY_BROKER_PRINT_JVM", "1");
    Process print = builder.start();
    print.getOutputStream().close();
    List<String> lines = new String(print.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    print.waitFor();
    return lines;
  }

  /** A child process in {@code cwd} with the bench's local API key and the peer's cloud settings. */
  private static BrokerProcess spawnIn(Path cwd, List<String> command, Cloud cloud) {
    Map<String, String> environment = new HashMap<>();
    environment.put("RELAY_BROKER_API_KEY", API_KEY);
    environment.put("RELAYCAST_BASE_URL", cloud.url());
    environment.put("RELAY_API_KEY", cloud.key());
    environment.put("AGENT_RELAY_TELEMETRY_DISABLED", "1");
    String javaOpts = System.getenv("RELAY_BROKER_JAVA_OPTS");
    if (javaOpts != null) {
      environment.put("RELAY_BROKER_JAVA_OPTS", javaOpts);
    }
    return BrokerProcess.exec(cwd, environment, command);
  }

  private static List<String> brokerInit(String binary, String name) {
    return List.of(binary, "init", "--instance-name", name, "--persist", "--api-port", "0");
  }

  /** exec -> the first 200 of GET /api/session (the key from the broker's connection.json when it has its own). */
  private static double execToReady(Path cwd, List<String> command, Cloud cloud) throws Exception {
    long t0 = System.nanoTime();
    try (BrokerProcess process = spawnIn(cwd, command, cloud)) {
      int port = port(process);
      while (httpStatus("http://127.0.0.1:" + port + "/api/session") != 200) {
        if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(30)) {
          throw new IllegalStateException("no 200 from " + command.get(0) + " within 30 s: " + process.stderr());
        }
        Thread.sleep(1);
      }
      return (System.nanoTime() - t0) / 1e6;
    }
  }

  /** exec -> the floor program's one stdout line. */
  private static double execToLine(List<String> command) {
    long t0 = System.nanoTime();
    try (BrokerProcess process = BrokerProcess.exec(ROOT, Map.of(), command)) {
      process.awaitLine(l -> l.startsWith("[agent-relay]"));
      return (System.nanoTime() - t0) / 1e6;
    }
  }

  private static double spawnToSession(Path modules, String binary, Path cwd, String name, Cloud cloud) {
    List<String> command = List.of("node", ROOT.resolve("bench/spawn-session.mjs").toString(), modules.toString(), binary,
      cwd.toString(), name);
    try (BrokerProcess node = spawnIn(cwd, command, cloud)) {
      JsonObject result = new JsonObject(node.awaitLine(l -> l.startsWith("{")));
      if (result.containsKey("error")) {
        throw new IllegalStateException("spawn of " + binary + " failed: " + result.getString("error"));
      }
      node.awaitExit();
      return result.getDouble("spawnToSessionMs");
    }
  }

  private void peer() throws Exception {
    progress("6/6 peer: the published Rust broker " + PEER_VERSION + " (and " + EARLIER_PEER_VERSION + "), in the same run");
    Path modules = installPeer(PEER_VERSION);
    String rust = modules.resolve("@agent-relay/broker-linux-x64/bin/agent-relay-broker").toString();
    Path earlierModules = installPeer(EARLIER_PEER_VERSION);
    String earlier = earlierModules.resolve("@agent-relay/broker-linux-x64/bin/agent-relay-broker").toString();
    String ours = ROOT.resolve("scripts/relay-broker").toString();
    List<String> jvm = launcherJvm();
    // The JVM floor: a Hello main under exactly the launcher's java and flags, without the broker's archive.
    Path helloClasses = OUT.resolve("hello");
    Files.createDirectories(helloClasses);
    Process javac = new ProcessBuilder(jvm.get(0).replaceAll("java$", "javac"), "-d", helloClasses.toString(),
      ROOT.resolve("bench/Hello.java").toString()).inheritIO().start();
    if (javac.waitFor() != 0) {
      throw new IllegalStateException("could not compile bench/Hello.java");
    }
    List<String> floor = new ArrayList<>(jvm.stream().filter(f -> !f.contains("Archive") && !f.contains("AOTCache")
      && !f.startsWith("-Drelay.broker")).toList());
    floor.addAll(List.of("-cp", helloClasses.toString(), "Hello"));
    String jdk = jvm.get(0);
    int runs = quick ? 5 : 11;
    try (Cloud cloud = Cloud.start()) {
      trainArchive(() -> execToReady(Files.createTempDirectory("peer-train"), brokerInit(ours, "peer-train"), cloud));
      // Warm the page cache for all three.
      execToReady(Files.createTempDirectory("peer-warm"), brokerInit(rust, "peer-warm-rust"), cloud);
      execToReady(Files.createTempDirectory("peer-warm"), brokerInit(earlier, "peer-warm-earlier"), cloud);
      execToLine(floor);

      List<Double> floorMs = new ArrayList<>();
      List<Double> oursMs = new ArrayList<>();
      List<Double> rustMs = new ArrayList<>();
      List<Double> earlierMs = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        floorMs.add(execToLine(floor));
        oursMs.add(execToReady(Files.createTempDirectory("peer-ours"), brokerInit(ours, "peer-ours-" + i), cloud));
        rustMs.add(execToReady(Files.createTempDirectory("peer-rust"), brokerInit(rust, "peer-rust-" + i), cloud));
        earlierMs.add(execToReady(Files.createTempDirectory("peer-earlier"), brokerInit(earlier, "peer-earlier-" + i), cloud));
      }
      double floorMedian = median(floorMs);
      timingRow("peer", "exec -> first 200 /api/session, fresh name (1 round trip), vs the JVM floor", oursMs, floorMedian,
        "Hello under the same java and flags -> its line", "ratio <= 4", median(oursMs) / floorMedian <= 4.0,
        "JVM " + jdk + "; floor " + spread(floorMs));
      timingRow("peer", "the same, vs the Rust broker", oursMs, median(rustMs), "Rust broker " + PEER_VERSION + ", same command line",
        "", null, "Rust " + spread(rustMs) + "; Rust " + EARLIER_PEER_VERSION + " median " + format(median(earlierMs)) + " ms");

      List<Double> oursSpawn = new ArrayList<>();
      List<Double> rustSpawn = new ArrayList<>();
      List<Double> earlierSpawn = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        rustSpawn.add(spawnToSession(modules, rust, Files.createTempDirectory("peer-spawn"), "spawn-rust-" + i, cloud));
        oursSpawn.add(spawnToSession(modules, ours, Files.createTempDirectory("peer-spawn"), "spawn-ours-" + i, cloud));
        earlierSpawn.add(spawnToSession(modules, earlier, Files.createTempDirectory("peer-spawn"), "spawn-earlier-" + i, cloud));
      }
      timingRow("peer", "HarnessDriverClient.spawn() + getSession() (harness-driver 9.1.6)", oursSpawn, median(rustSpawn),
        "the same client spawning the Rust broker " + PEER_VERSION, "ratio <= 0.5", median(oursSpawn) / median(rustSpawn) <= 0.5,
        "Rust " + spread(rustSpawn) + "; Rust " + EARLIER_PEER_VERSION + " median " + format(median(earlierSpawn)) + " ms");

      peerMemoryAndThroughput(ours, rust, earlier, floor, cloud);
    }
  }

  private void peerMemoryAndThroughput(String ours, String rust, String earlier, List<String> floor, Cloud cloud) throws Exception {
    int idleSeconds = quick ? 5 : 30;
    Path oursDir = Files.createTempDirectory("peer-mem");
    Path rustDir = Files.createTempDirectory("peer-mem");
    Path earlierDir = Files.createTempDirectory("peer-mem");
    List<String> floorIdle = new ArrayList<>(floor);
    floorIdle.add(String.valueOf(idleSeconds + 600));
    try (BrokerProcess oursProcess = spawnIn(oursDir, brokerInit(ours, "peer-mem-ours"), cloud);
         BrokerProcess rustProcess = spawnIn(rustDir, brokerInit(rust, "peer-mem-rust"), cloud);
         BrokerProcess earlierProcess = spawnIn(earlierDir, brokerInit(earlier, "peer-mem-earlier"), cloud);
         BrokerProcess floorProcess = BrokerProcess.exec(ROOT, Map.of(), floorIdle)) {
      int oursPort = port(oursProcess);
      int rustPort = port(rustProcess);
      int earlierPort = port(earlierProcess);
      floorProcess.awaitLine(l -> l.startsWith("[agent-relay]"));
      while (httpStatus("http://127.0.0.1:" + oursPort + "/api/session") != 200
        || httpStatus("http://127.0.0.1:" + rustPort + "/api/session") != 200
        || httpStatus("http://127.0.0.1:" + earlierPort + "/api/session") != 200) {
        Thread.sleep(20);
      }
      Thread.sleep(idleSeconds * 1000L);
      double oursMb = rssMb(oursProcess.pid());
      double rustMb = rssMb(rustProcess.pid());
      double earlierMb = rssMb(earlierProcess.pid());
      double floorMb = rssMb(floorProcess.pid());
      row("peer", "RSS " + idleSeconds + " s after ready, vs the JVM floor", oursMb, "MB", floorMb,
        "Hello under the same java and flags, idle", "ratio <= 1.6", oursMb / floorMb <= 1.6, "Rust broker " + PEER_VERSION + " "
          + format(rustMb) + " MB, " + EARLIER_PEER_VERSION + " " + format(earlierMb) + " MB");

      int seconds = quick ? 2 : 10;
      int warmup = quick ? 1 : 3;
      String oursSocket = oursDir.resolve(".agentworkforce/relay/broker.sock").toString();
      String rustKey = new JsonObject(Files.readString(rustDir.resolve(".agentworkforce/relay/connection.json"))).getString("api_key");
      String earlierKey = new JsonObject(Files.readString(earlierDir.resolve(".agentworkforce/relay/connection.json"))).getString("api_key");
      drive("tcp:" + oursPort, 16, warmup * 2, 0);
      drive("tcp:" + rustPort, 16, warmup * 2, 0, rustKey);
      JsonObject rustResult = drive("tcp:" + rustPort, 64, seconds, warmup, rustProcess.pid(), rustKey);
      drive("tcp:" + earlierPort, 16, warmup * 2, 0, earlierKey);
      JsonObject earlierResult = drive("tcp:" + earlierPort, 64, seconds, warmup, earlierProcess.pid(), earlierKey);
      JsonObject oursTcp = drive("tcp:" + oursPort, 64, seconds, warmup, oursProcess.pid(), API_KEY);
      JsonObject oursUds = drive("uds:" + oursSocket, 64, seconds, warmup, oursProcess.pid(), API_KEY);
      for (var entry : List.of(Map.entry("TCP", oursTcp), Map.entry("Unix socket", oursUds))) {
        JsonObject result = entry.getValue();
        row("peer", "GET /api/session, 64 conn, " + entry.getKey() + ": req/s vs the Rust broker on TCP", result.getDouble("rps"),
          "req/s", rustResult.getDouble("rps"), "Rust broker " + PEER_VERSION + ", TCP, 64 conn", "ratio >= 2",
          result.getDouble("rps") / rustResult.getDouble("rps") >= 2.0, String.format(Locale.ROOT,
            "CPU per request %.1f us (Rust %.1f us); errors %d/%d; Rust %s %.0f req/s", result.getDouble("cpuUsPerRequest"),
            rustResult.getDouble("cpuUsPerRequest"), result.getLong("errors"), rustResult.getLong("errors"),
            EARLIER_PEER_VERSION, earlierResult.getDouble("rps")));
        row("peer", "GET /api/session, 64 conn, " + entry.getKey() + ": p99 vs the Rust broker's", result.getDouble("p99Ms"), "ms",
          rustResult.getDouble("p99Ms"), "Rust broker p99", "ratio <= 1", result.getDouble("p99Ms") <= rustResult.getDouble("p99Ms"),
          String.format(Locale.ROOT, "p50 %.2f ms (Rust %.2f ms)", result.getDouble("p50Ms"), rustResult.getDouble("p50Ms")));
      }
    }
  }

  // -----------------------------------------------------------------------------------------------------------
  // Report
  // -----------------------------------------------------------------------------------------------------------

  private void timingRow(String section, String measure, List<Double> samples, double baseline, String baselineName, String goal,
                         Boolean met, String note) {
    JsonObject row = row(section, measure, median(samples), "ms", baseline, baselineName, goal, met, note);
    row.put("spread", spread(samples)).put("samples", new JsonArray(new ArrayList<>(samples)));
  }

  private JsonObject row(String section, String measure, double value, String unit, Double baseline, String baselineName,
                         String goal, Boolean met, String note) {
    JsonObject row = new JsonObject().put("section", section).put("measure", measure).put("value", value).put("unit", unit)
      .put("baseline", baseline).put("baselineName", baselineName).put("goal", goal).put("met", met).put("note", note);
    if (baseline != null && baseline != 0) {
      row.put("ratio", value / baseline);
    }
    rows.add(row);
    System.err.println("  " + measure + ": " + format(value) + " " + unit + (baseline != null ? " (baseline " + format(baseline) + ")" : ""));
    return row;
  }

  private void report(double seconds, PrintStream out) throws IOException {
    StringBuilder table = new StringBuilder();
    table.append(String.format(Locale.ROOT, "%n%-12s | %-72s | %12s | %12s | %7s | %-13s | %s%n", "section", "measure",
      "relay-broker", "baseline", "ratio", "goal", "met"));
    table.append("-".repeat(150)).append('\n');
    for (JsonObject row : rows) {
      String value = format(row.getDouble("value")) + " " + row.getString("unit");
      String baseline = row.getValue("baseline") == null ? "" : format(row.getDouble("baseline"));
      String ratio = row.getValue("ratio") == null ? "" : String.format(Locale.ROOT, "%.2f", row.getDouble("ratio"));
      String met = row.getValue("met") == null ? "" : row.getBoolean("met") ? "yes" : "NO";
      table.append(String.format(Locale.ROOT, "%-12s | %-72s | %12s | %12s | %7s | %-13s | %s%n", row.getString("section"),
        row.getString("measure"), value, baseline, ratio, row.getString("goal"), met));
      String note = (row.getString("spread") != null ? "spread " + row.getString("spread") + "; " : "")
        + (row.getString("baselineName").isEmpty() ? "" : "baseline: " + row.getString("baselineName") + "; ") + row.getString("note");
      if (!note.isBlank()) {
        table.append(String.format(Locale.ROOT, "%-12s   %s%n", "", "  " + note));
      }
    }
    long met = rows.stream().filter(r -> Boolean.TRUE.equals(r.getBoolean("met"))).count();
    long goals = rows.stream().filter(r -> r.getValue("met") != null).count();
    table.append(String.format(Locale.ROOT, "%ngoals met: %d of %d; %s run in %.0f s on %d cores; report: target/bench/report.json%n",
      met, goals, quick ? "quick" : "full", seconds, Runtime.getRuntime().availableProcessors()));
    out.print(table);
    out.flush();
    JsonObject report = new JsonObject().put("mode", quick ? "quick" : "full").put("seconds", seconds)
      .put("cores", Runtime.getRuntime().availableProcessors()).put("java", System.getProperty("java.version"))
      .put("rows", new JsonArray(new ArrayList<>(rows)));
    Files.writeString(OUT.resolve("report.json"), report.encodePrettily());
    Files.writeString(OUT.resolve("report.txt"), table.toString());
  }

  private static String format(double value) {
    return Math.abs(value) >= 100 || value == Math.rint(value) ? String.format(Locale.ROOT, "%.0f", value) : String.format(Locale.ROOT, "%.2f", value);
  }

  private static double median(List<Double> samples) {
    double[] sorted = samples.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  }

  private static String spread(List<Double> samples) {
    return String.format(Locale.ROOT, "%.0f..%.0f ms (n=%d)", samples.stream().mapToDouble(d -> d).min().orElse(0),
      samples.stream().mapToDouble(d -> d).max().orElse(0), samples.size());
  }

  private static void progress(String what) {
    System.err.println("[bench] " + what);
  }

  private static int httpStatus(String url) {
    try {
      HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
      connection.setRequestProperty("X-API-Key", API_KEY);
      connection.setConnectTimeout(1000);
      connection.setReadTimeout(2000);
      int status = connection.getResponseCode();
      connection.disconnect();
      return status;
    } catch (IOException notYet) {
      return -1;
    }
  }

  private static byte[] httpBody(String url) throws IOException {
    HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
    connection.setRequestProperty("X-API-Key", API_KEY);
    try (var in = connection.getInputStream()) {
      return in.readAllBytes();
    }
  }

  private static void post(String url, JsonObject body) throws IOException {
    HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
    connection.setRequestMethod("POST");
    connection.setDoOutput(true);
    connection.setRequestProperty("Content-Type", "application/json");
    connection.getOutputStream().write(body.encode().getBytes(StandardCharsets.UTF_8));
    if (connection.getResponseCode() >= 300) {
      throw new IllegalStateException("POST " + url + " answered " + connection.getResponseCode());
    }
  }
}
