package dev.relaybroker.cloud;

import dev.relaybroker.session.BrokerFailure;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * jqwik properties over {@link RelaycastClient}'s decoding, fed what a hostile cloud can send: random bytes,
 * random JSON, envelopes whose every string may be a secret the broker holds or carry control characters. The
 * decoding may only ever end in a success or a {@link BrokerFailure}, and no failure's text may hold a secret it
 * was given or a raw control character.
 */
class HostileDecodingPropertiesTest {
  private static final List<Function<Object, ?>> DECODERS = List.of(
    data -> RelaycastClient.registration(data, "alpha"),
    data -> RelaycastClient.rotatedToken(data, "alpha"),
    data -> RelaycastClient.takeoverResult(data, "alpha"),
    data -> RelaycastClient.agentRecord(data, "alpha"),
    RelaycastClient::createdWorkspace);

  @Property(tries = 2000)
  void randomBytesEndInASuccessOrABrokerFailure(@ForAll @Size(max = 300) byte[] body, @ForAll("statuses") int status,
                                                @ForAll @IntRange(max = 4) int decoder) {
    Future<?> result = decode(status, Buffer.buffer(body), decoder, CloudText.shapesOnly());
    assertThat(result.isComplete()).isTrue();
    if (result.failed()) {
      assertThat(result.cause()).isInstanceOf(BrokerFailure.class);
      assertThat(result.cause().getMessage()).doesNotContainPattern("[\\x00-\\x1f\\x7f]");
    }
  }

  @Property(tries = 3000)
  void hostileEnvelopesNeverLeakASecretTheyWereGiven(@ForAll("secrets") String workspaceKey, @ForAll("secrets") String token,
                                                     @ForAll("envelopes") JsonObject envelope, @ForAll("statuses") int status,
                                                     @ForAll @IntRange(max = 4) int decoder) {
    String body = envelope.encode().replace("$KEY", workspaceKey).replace("$TOKEN", token);
    CloudText cloudText = CloudText.shapesOnly().remember(workspaceKey).remember(token);

    Future<?> result = decode(status, Buffer.buffer(body), decoder, cloudText);

    assertThat(result.isComplete()).isTrue();
    if (result.failed()) {
      assertThat(result.cause()).isInstanceOf(BrokerFailure.class);
      BrokerFailure failure = (BrokerFailure) result.cause();
      assertThat(failure.getMessage()).doesNotContain(workspaceKey).doesNotContain(token)
        .doesNotContainPattern("[\\x00-\\x1f\\x7f\\u2028\\u2029\\u202a-\\u202e]");
      assertThat(String.valueOf(failure.cloudCode())).doesNotContain(workspaceKey).doesNotContain(token);
    } else if (result.result() instanceof Registration r) {
      assertThat(r.token()).matches("[A-Za-z0-9._~+/-]+=*");
      assertThat(r.name().chars().noneMatch(c -> CloudText.isUnsafe((char) c))).isTrue();
    }
  }

  @Property(tries = 1000)
  void cleanedTextNeverHoldsARememberedSecretOrAControlCharacter(@ForAll("secrets") String secret,
                                                                 @ForAll @Size(max = 400) String before,
                                                                 @ForAll @Size(max = 400) String after) {
    String cleaned = CloudText.shapesOnly().remember(secret).clean(before + secret + after);
    assertThat(cleaned).doesNotContain(secret).doesNotContainPattern("[\\x00-\\x1f\\x7f]");
    assertThat(cleaned.length()).isLessThanOrEqualTo(CloudText.MAX_LENGTH + 1);
  }

  private static Future<?> decode(int status, Buffer body, int decoder, CloudText cloudText) {
    return RelaycastClient.decode("POST /v1/agents", status % 2 == 0, status, null, "application/json", body,
      DECODERS.get(decoder), cloudText);
  }

  @Provide
  Arbitrary<Integer> statuses() {
    return Arbitraries.of(200, 201, 204, 301, 307, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503);
  }

  /** Secrets in the shapes the cloud hands out, and in arbitrary bearer-token shapes. */
  @Provide
  Arbitrary<String> secrets() {
    Arbitrary<String> tail = Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~+/-")
      .ofMinLength(8).ofMaxLength(48);
    return Arbitraries.oneOf(tail.map(t -> "rk_live_" + t), tail.map(t -> "at_live_" + t), tail.map(t -> "rk_test_" + t), tail);
  }

  /** Strings a hostile cloud fills fields with: a held secret, a secret among words, controls, escapes, junk. */
  private static Arbitrary<String> hostileStrings() {
    return Arbitraries.oneOf(
      Arbitraries.of("$KEY", "$TOKEN", "bad key $KEY and token $TOKEN", "at_live_$TOKEN", "Bearer $TOKEN\r\nX-Forged: 1",
        "agt_1", "alpha", "\u001b[31mERROR\u001b[0m forged\nline", "name\u202eevil", "", " ", "online", "conflict",
        "agent_token_required", "x".repeat(600)),
      Arbitraries.strings().ofMaxLength(60));
  }

  private static Arbitrary<Object> hostileValues() {
    return Arbitraries.oneOf(
      hostileStrings().map(s -> (Object) s),
      Arbitraries.integers().map(i -> (Object) i),
      Arbitraries.of(true, false).map(b -> (Object) b),
      Arbitraries.just(new JsonArray().add("$TOKEN")),
      Arbitraries.just(new JsonObject().put("nested", "$KEY")));
  }

  private static Arbitrary<JsonObject> objectsOf(List<String> fields) {
    return Arbitraries.subsetOf(fields).flatMap(chosen -> hostileValues().list().ofSize(chosen.size()).map(values -> {
      JsonObject o = new JsonObject();
      int i = 0;
      for (String field : chosen) {
        o.put(field, values.get(i++));
      }
      return o;
    }));
  }

  @Provide
  Arbitrary<JsonObject> envelopes() {
    Arbitrary<JsonObject> data = objectsOf(List.of("id", "agent_id", "name", "token", "status", "workspace_id", "api_key",
      "audit_id", "metadata"));
    Arbitrary<JsonObject> error = objectsOf(List.of("code", "message"));
    return Arbitraries.oneOf(
      data.map(d -> new JsonObject().put("ok", true).put("data", d)),
      error.map(e -> new JsonObject().put("ok", false).put("error", e)),
      hostileValues().map(v -> new JsonObject().put("ok", v).put("data", v).put("error", v)),
      data.map(d -> d));
  }
}
