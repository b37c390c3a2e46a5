package dev.relaybroker.cloud;

import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.support.HostileCloud;
import dev.relaybroker.support.TestVertx;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cloud client against whatever may answer at a base URL (issue 22, findings 2–5): bodies too large to hold,
 * chunked or declared; a body that drips; JSON nested past any parser's stack; errors that echo the key and the
 * token back on every call; control characters in tokens, names and ids; redirects. Every outcome must be a
 * {@link BrokerFailure} that arrives in bounded time, costs bounded memory and carries no secret and no raw
 * control character.
 */
class HostileCloudTest {
  private static final String KEY = "rk_live_" + "5ec7e7".repeat(6);
  private static final long LIMIT = 64 * 1024;

  private Vertx vertx;
  private HostileCloud cloud;
  private RelaycastClient client;

  private int logMark;

  @BeforeEach
  void connect() {
    logMark = dev.relaybroker.support.CapturedLogs.mark();
    vertx = Vertx.vertx(TestVertx.options());
    cloud = HostileCloud.start();
    client = new RelaycastClient(vertx, cloud.baseUrl(), new CloudOptions().setRequestTimeoutMs(4000).setMaxResponseBytes(LIMIT));
  }

  /** Then: one clear failure per call, nothing else; no "Stream reset" or unhandled-exception line from a cut exchange. */
  @AfterEach
  void close() {
    client.close();
    cloud.close();
    await(vertx.close());
    assertThat(dev.relaybroker.support.CapturedLogs.since(logMark)).noneMatch(line -> line.startsWith("io.vertx")
      && !line.contains("BlockedThreadChecker"));
  }

  @Test
  void aHugeBodyWithContentLengthIsRefusedBeforeItIsRead() {
    cloud.hugeBody(64L * 1024 * 1024, true);

    BrokerFailure failure = failureWithin(Duration.ofSeconds(12), client.register(KEY, "alpha", null));

    assertThat(failure.code()).isEqualTo("cloud_unavailable");
    assertThat(failure.retryable()).isTrue();
    assertThat(failure.getMessage()).contains("POST /v1/agents", "larger than the " + LIMIT + " bytes allowed", "cloud.maxResponseBytes");
    // What the server got onto its socket before the client hung up: socket buffers, not the body.
    assertThat(cloud.bodyBytesWritten()).isLessThan(16L * 1024 * 1024);
  }

  @Test
  void aHugeChunkedBodyIsCutWhileItStreams() {
    cloud.hugeBody(64L * 1024 * 1024, false);

    BrokerFailure failure = failureWithin(Duration.ofSeconds(8), client.register(KEY, "alpha", null));

    assertThat(failure.code()).isEqualTo("cloud_unavailable");
    assertThat(failure.retryable()).isTrue();
    assertThat(failure.getMessage()).contains("larger than the " + LIMIT + " bytes allowed");
    assertThat(cloud.bodyBytesWritten()).isLessThan(16L * 1024 * 1024);
  }

  @Test
  void aBodyThatDripsIsCutAtTheWholeExchangeDeadline() {
    cloud.slowDrip(100);
    long started = System.nanoTime();

    BrokerFailure failure = failureWithin(Duration.ofSeconds(8), client.register(KEY, "alpha", null));

    long elapsedMs = (System.nanoTime() - started) / 1_000_000;
    assertThat(failure.code()).isEqualTo("cloud_timeout");
    assertThat(failure.retryable()).isTrue();
    assertThat(failure.getMessage()).contains("4000 ms");
    // The drip kept bytes coming all along: an idle timer would never have fired.
    assertThat(cloud.bodyBytesWritten()).isGreaterThan(3);
    assertThat(elapsedMs).isBetween(3900L, 8000L);
  }

  @Test
  void jsonNestedPastAnyStackIsAProtocolFailureNotAnError() {
    int depth = 30_000;
    cloud.answer(201, "{\"ok\":true,\"data\":{\"id\":" + "[".repeat(depth) + "]".repeat(depth) + "}}");

    BrokerFailure failure = failureWithin(Duration.ofSeconds(8), client.register(KEY, "alpha", null));

    assertThat(failure.code()).isIn("cloud_unavailable", "cloud_protocol_error");
  }

  @Test
  void errorsThatEchoTheKeyAndTheTokenCarryNeitherOnAnyCall() {
    String token = "at_live_" + "70ce70".repeat(6);
    cloud.answer(201, new JsonObject().put("ok", true).put("data", new JsonObject().put("id", "agt_1").put("name", "alpha")
      .put("token", token)).encode());
    await(client.register(KEY, "alpha", null));
    // From now on every answer is an error quoting what the broker holds, in the message and in the code.
    String echo = "denied for Bearer " + KEY + " (token " + token + ", raw " + KEY.substring(8) + " " + token.substring(8) + ")";
    for (int status : new int[] {400, 401, 409, 500}) {
      cloud.answer(status, new JsonObject().put("ok", false)
        .put("error", new JsonObject().put("code", token.substring(8)).put("message", echo)).encode());
      Map<String, Supplier<Future<?>>> calls = new LinkedHashMap<>();
      calls.put("register", () -> client.register(KEY, "alpha", null));
      calls.put("get", () -> client.getAgent(KEY, "alpha"));
      calls.put("rotate (token)", () -> client.rotateToken(token, "alpha"));
      calls.put("rotate (key)", () -> client.rotateToken(KEY, "alpha"));
      calls.put("takeover", () -> client.takeover(KEY, "alpha", new TakeoverRequest("agt_1", "a", "r", "s", "n")));
      calls.put("recover", () -> client.recover(KEY, "alpha", new TakeoverRequest("agt_1", "a", "r", "s", "n")));
      calls.put("channels", () -> client.listChannels(KEY));
      calls.put("self", () -> client.getSelf(token));
      calls.put("create channel", () -> client.createChannel(token, "general"));
      calls.put("join", () -> client.joinChannel(token, "general"));
      calls.put("offline", () -> client.markOffline(KEY, "alpha"));
      calls.put("workspace", () -> client.createWorkspace("w"));
      calls.forEach((name, call) -> {
        BrokerFailure failure = failureWithin(Duration.ofSeconds(8), call.get());
        assertThat(failure.getMessage()).as("%s on %s", name, status)
          .doesNotContain(KEY).doesNotContain(token).doesNotContain(KEY.substring(8)).doesNotContain(token.substring(8))
          .contains("[redacted]");
        assertThat(String.valueOf(failure.cloudCode())).as("code of %s on %s", name, status).doesNotContain(token.substring(8));
      });
    }
  }

  @Test
  void controlCharactersInTokensNamesAndIdsAreProtocolErrorsAndNeverQuotedRaw() {
    Map<String, JsonObject> answers = new LinkedHashMap<>();
    answers.put("token with CR/LF", new JsonObject().put("id", "agt_1").put("name", "alpha")
      .put("token", "at_live_0123456789abcdef\r\nX-Forged: yes"));
    answers.put("token with a space", new JsonObject().put("id", "agt_1").put("token", "at_live_0123 456789abcdef"));
    answers.put("name with escapes", new JsonObject().put("id", "agt_1").put("token", "at_live_0123456789abcdef")
      .put("name", "alpha\n2026-01-01 ERROR forged line \u001b[31mred\u001b[0m"));
    answers.put("name with a bidi override", new JsonObject().put("id", "agt_1").put("token", "at_live_0123456789abcdef")
      .put("name", "alpha\u202eevil"));
    answers.put("id with a newline", new JsonObject().put("id", "agt_1\nERROR forged").put("token", "at_live_0123456789abcdef"));
    answers.put("workspace id with escapes", new JsonObject().put("id", "agt_1").put("token", "at_live_0123456789abcdef")
      .put("workspace_id", "ws\u001b]0;title\u0007"));
    answers.forEach((what, data) -> {
      cloud.answer(201, new JsonObject().put("ok", true).put("data", data).encode());

      BrokerFailure failure = failureWithin(Duration.ofSeconds(8), client.register(KEY, "alpha", null));

      assertThat(failure.code()).as(what).isEqualTo("cloud_protocol_error");
      assertThat(failure.getMessage()).as(what).doesNotContainPattern("[\\x00-\\x1f\\x7f\\u202e]")
        .doesNotContain("0123456789abcdef");
    });
  }

  @Test
  void aTokenWithControlCharactersIsNeverSentAndNeverQuoted() {
    String forged = "at_live_0123456789abcdef\r\nX-Forged: yes";

    BrokerFailure failure = failureWithin(Duration.ofSeconds(8), client.getSelf(forged));

    assertThat(failure.getMessage()).doesNotContain("0123456789abcdef").doesNotContainPattern("[\\x00-\\x1f]");
    assertThat(cloud.requests()).isEmpty();
  }

  @Test
  void redirectsAreNeverFollowedSoTheKeyStaysWithTheCloud() {
    try (HostileCloud elsewhere = HostileCloud.start()) {
      elsewhere.answer(201, "{\"ok\":true,\"data\":{\"id\":\"agt_1\",\"token\":\"at_live_0123456789abcdef\"}}");
      cloud.redirectTo(elsewhere.baseUrl() + "/v1/agents");

      BrokerFailure failure = failureWithin(Duration.ofSeconds(8), client.register(KEY, "alpha", null));

      assertThat(failure.httpStatus()).isEqualTo(307);
      assertThat(elsewhere.requests()).isEmpty();
    }
  }

  /** The failure, which must arrive within {@code bound}: a client stuck on a hostile answer fails the test. */
  private static BrokerFailure failureWithin(Duration bound, Future<?> call) {
    try {
      call.toCompletionStage().toCompletableFuture().get(bound.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(BrokerFailure.class);
      return (BrokerFailure) e.getCause();
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no outcome within " + bound + ": the client is stuck on the answer", e);
    }
    throw new AssertionError("expected a failure, got a success");
  }
}
