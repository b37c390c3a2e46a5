package dev.relaybroker.cli;

import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.BrokerProcesses;
import dev.relaybroker.support.PeerBinary;
import dev.relaybroker.support.PeerBinary.Answer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real 12.4.1 binary and this broker, both on the emulator, asked the same things by the same client with the
 * same command line: the key sets and JSON types of {@code /api/session}, {@code /health}, renew and the error
 * envelope match, except the fields docs/protocol.md names as this broker's alone.
 */
class PeerDifferentialTest {
  /** docs/protocol.md, "Fields that are ours alone". */
  static final Set<String> OURS_ALONE_SESSION = Set.of("state", "rolling_over", "presence", "channels", "channel_errors",
    "agent", "token_fingerprint");
  static final Set<String> OURS_ALONE_HEALTH = Set.of("state", "presence", "checks");
  /** The SDK builds its error from top-level fields; 12.4.1 nests them under "error" only. */
  static final Set<String> OURS_ALONE_ERROR = Set.of("code", "message", "retryable", "statusCode");

  @TempDir
  Path tmp;

  /** The emulator, its workspace and every process started, closed after each test. */
  @RegisterExtension
  final BrokerProcesses cloud = new BrokerProcesses();

  @BeforeAll
  static void installThePeer() throws Exception {
    PeerBinary.install();
  }

  /** The two brokers' base URLs, ours first, both ready. */
  private List<String> bothReady(boolean persist) throws Exception {
    Path oursDir = Files.createDirectories(tmp.resolve("ours"));
    Path rustDir = Files.createDirectories(tmp.resolve("rust"));
    BrokerProcess ours = cloud.exec(oursDir, PeerBinary.environment(cloud.emulator().baseUrl(), cloud.key(), null),
      BrokerProcess.command(PeerBinary.initArguments("ours", persist).toArray(String[]::new)));
    BrokerProcess rust = cloud.adopt(PeerBinary.start(rustDir, PeerBinary.environment(cloud.emulator().baseUrl(), cloud.key(), null), "rust", persist));
    String oursUrl = PeerBinary.url(ours);
    String rustUrl = PeerBinary.url(rust);
    PeerBinary.awaitSession(oursUrl, ours);
    PeerBinary.awaitSession(rustUrl, rust);
    return List.of(oursUrl, rustUrl);
  }

  @Test
  void sessionHealthRenewAndErrorsHaveTwelveFourOnesKeysAndTypes() throws Exception {
    List<String> urls = bothReady(true);
    String ours = urls.get(0);
    String rust = urls.get(1);

    assertSameShape("/api/session", call(ours, "GET", "/api/session", true), call(rust, "GET", "/api/session", true), OURS_ALONE_SESSION);
    assertSameShape("/health", call(ours, "GET", "/health", false), call(rust, "GET", "/health", false), OURS_ALONE_HEALTH);
    JsonObject oursRenew = call(ours, "POST", "/api/session/renew", true);
    JsonObject rustRenew = call(rust, "POST", "/api/session/renew", true);
    assertSameShape("renew (persist)", oursRenew, rustRenew, Set.of());
    assertThat(oursRenew).as("persist mode: no lease, in the same words").isEqualTo(rustRenew);

    for (String[] request : new String[][] {{"GET", "/api/session"}, {"GET", "/api/status"}, {"POST", "/api/session/renew"}}) {
      Answer oursRefused = PeerBinary.call(ours, request[0], request[1], false);
      Answer rustRefused = PeerBinary.call(rust, request[0], request[1], false);
      assertThat(oursRefused.status()).isEqualTo(rustRefused.status()).isEqualTo(401);
      assertSameShape("401 " + request[1], oursRefused.json(), rustRefused.json(), OURS_ALONE_ERROR);
      assertThat(oursRefused.json().getJsonObject("error").getString("code"))
        .isEqualTo(rustRefused.json().getJsonObject("error").getString("code"));
    }

    // The read-only routes of the published client, in 12.4.1's shapes ("state" in /api/status is ours).
    for (String route : List.of("/api/status", "/api/config", "/api/spawned", "/api/metrics", "/api/crash-insights")) {
      assertSameShape(route, call(ours, "GET", route, true), call(rust, "GET", route, true), Set.of("state"));
    }
  }

  @Test
  void renewInEphemeralModeAnswersTheSameLease() throws Exception {
    List<String> urls = bothReady(false);

    JsonObject oursRenew = call(urls.get(0), "POST", "/api/session/renew", true);
    JsonObject rustRenew = call(urls.get(1), "POST", "/api/session/renew", true);

    assertThat(oursRenew).isEqualTo(rustRenew).isEqualTo(new JsonObject()
      .put("renewed", true).put("expires_in_secs", 120).put("persist", false));
  }

  private static JsonObject call(String url, String method, String path, boolean withKey) {
    Answer answer = PeerBinary.call(url, method, path, withKey);
    assertThat(answer.status()).as("%s %s%s", method, url, path).isEqualTo(200);
    return answer.json();
  }

  /** Key sets and JSON types, recursively through objects and the first element of arrays. */
  private static void assertSameShape(String what, JsonObject ours, JsonObject rust, Set<String> oursAlone) {
    TreeMap<String, String> oursShape = shape("", ours);
    TreeMap<String, String> rustShape = shape("", rust);
    for (String alone : oursAlone) {
      oursShape.keySet().removeIf(path -> path.equals(alone) || path.startsWith(alone + ".") || path.startsWith(alone + "["));
    }
    assertThat(oursShape).as("%s: ours %s, 12.4.1 %s", what, ours, rust).isEqualTo(rustShape);
  }

  private static TreeMap<String, String> shape(String prefix, Object value) {
    TreeMap<String, String> shape = new TreeMap<>();
    if (value instanceof JsonObject object) {
      if (!prefix.isEmpty()) {
        shape.put(prefix, "object");
      }
      object.forEach(entry -> shape.putAll(shape((prefix.isEmpty() ? "" : prefix + ".") + entry.getKey(), entry.getValue())));
    } else if (value instanceof JsonArray array) {
      shape.put(prefix, "array");
      if (!array.isEmpty()) {
        shape.putAll(shape(prefix + "[]", array.getValue(0)));
      }
    } else {
      shape.put(prefix, value == null ? "null" : value instanceof Number ? "number" : value instanceof Boolean ? "boolean" : "string");
    }
    return shape;
  }
}
