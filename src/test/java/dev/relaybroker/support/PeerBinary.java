package dev.relaybroker.support;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The published Rust broker, {@code @agent-relay/broker-linux-x64@12.4.1}, installed by npm into {@code target/peer}
 * (once; later runs reuse it), and the small HTTP client the peer tests ask both brokers with. npm not reaching its
 * registry skips the test (an assumption); any other npm failure fails it.
 */
public final class PeerBinary {
  public static final String PACKAGE = "@agent-relay/broker-linux-x64";
  public static final String VERSION = "12.4.1";
  /** The local API key both brokers are given, so one client asks both the same way. */
  public static final String LOCAL_API_KEY = "br_peer_test_local_api_key";
  private static final Path ROOT = Path.of("target", "peer").toAbsolutePath();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private PeerBinary() {
  }

  /** The binary's path, installing it first if needed. */
  public static synchronized Path install() throws IOException, InterruptedException {
    Path modules = ROOT.resolve("node_modules").resolve(PACKAGE);
    Path binary = modules.resolve("bin/agent-relay-broker");
    Path manifest = modules.resolve("package.json");
    if (Files.isExecutable(binary) && new JsonObject(Files.readString(manifest)).getString("version").equals(VERSION)) {
      return binary;
    }
    Files.createDirectories(ROOT);
    String spec = PACKAGE + "@" + VERSION;
    Process npm = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--prefix", ROOT.toString(), spec)
      .redirectErrorStream(true).start();
    String output = new String(npm.getInputStream().readAllBytes());
    boolean finished = npm.waitFor(300, TimeUnit.SECONDS);
    if (!finished || npm.exitValue() != 0) {
      Assumptions.assumeFalse(output.matches("(?s).*(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH).*"),
        "npm cannot reach its registry to install " + spec);
      throw new AssertionError("npm could not install " + spec + " (the peer these tests run); npm said:\n" + output);
    }
    return binary;
  }

  /**
   * The environment both brokers get in the peer tests: the emulator under both base-URL names, the workspace key,
   * the local API key, telemetry off, and the identity key when given.
   */
  public static Map<String, String> environment(String baseUrl, String workspaceKey, String identityKey) {
    Map<String, String> environment = new java.util.HashMap<>(Map.of(
      "RELAYCAST_BASE_URL", baseUrl, "RELAY_BASE_URL", baseUrl, "RELAY_API_KEY", workspaceKey,
      "RELAY_BROKER_API_KEY", LOCAL_API_KEY, "AGENT_RELAY_TELEMETRY_DISABLED", "1"));
    if (identityKey != null) {
      environment.put("RELAY_AGENT_IDENTITY_KEY", identityKey);
    }
    return environment;
  }

  /** {@code init --instance-name <name> [--persist] --api-port 0}: the same command line for both brokers. */
  public static List<String> initArguments(String name, boolean persist) {
    return persist ? List.of("init", "--instance-name", name, "--persist", "--api-port", "0")
      : List.of("init", "--instance-name", name, "--api-port", "0");
  }

  /** Starts the Rust broker in {@code cwd}. */
  public static BrokerProcess start(Path cwd, Map<String, String> environment, String name, boolean persist)
    throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of(install().toString()));
    command.addAll(initArguments(name, persist));
    return BrokerProcess.exec(cwd, environment, command);
  }

  /** The base URL from a broker's stdout line (both print the same one). */
  public static String url(BrokerProcess broker) {
    String line = broker.awaitLine(l -> l.startsWith("[agent-relay] API listening on "));
    return line.substring("[agent-relay] API listening on ".length()).trim();
  }

  /** One exchange: status and body (parsed when JSON, else null). */
  public record Answer(int status, String text) {
    public JsonObject json() {
      try {
        return new JsonObject(text);
      } catch (RuntimeException notJson) {
        return null;
      }
    }
  }

  public static Answer call(String baseUrl, String method, String path, boolean withKey) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(15))
      .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("{}"))
      .header("Content-Type", "application/json");
    if (withKey) {
      request.header("X-API-Key", LOCAL_API_KEY);
    }
    try {
      HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(response.statusCode(), response.body());
    } catch (IOException e) {
      throw new AssertionError(method + " " + baseUrl + path + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Polls {@code GET /api/session} until 200 (either broker), or fails with the last answer. */
  public static JsonObject awaitSession(String baseUrl, BrokerProcess broker) {
    Answer last = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline && broker.isAlive()) {
      last = call(baseUrl, "GET", "/api/session", true);
      if (last.status() == 200) {
        return last.json();
      }
      sleep(200);
    }
    throw new AssertionError("no session from " + baseUrl + " (alive: " + broker.isAlive() + "); last answer " + last
      + "; stderr " + broker.stderr());
  }

  public static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
