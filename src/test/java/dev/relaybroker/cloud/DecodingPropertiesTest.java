package dev.relaybroker.cloud;

import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.identity.AgentNames;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property tests with a seeded generator (plain JUnit; the seed is printed, -Drelay.props.seed=S reproduces):
 * agent-name sanitising, path encoding round trips, and lenient decoding of arbitrary JSON.
 */
class DecodingPropertiesTest {
  private static final int CASES = Integer.getInteger("relay.props.cases", 5000);
  private static final long SEED = Long.getLong("relay.props.seed", System.nanoTime());
  private static final String ALPHABET = "aZ09 ._-/+%?#&=~!*'()[]@:;,$\\\"<>{}|^`\t\u00e9\u00fc\u65e5\u672c\u0416\u05d0\ud83d\ude00";

  private static String randomName(Random random) {
    int length = random.nextInt(40);
    StringBuilder name = new StringBuilder();
    while (name.length() < length) {
      int pick = random.nextInt(10);
      if (pick < 7) {
        int index = random.nextInt(ALPHABET.length());
        char c = ALPHABET.charAt(index);
        // Keep surrogate pairs whole: lone surrogates are not valid names anywhere.
        if (Character.isHighSurrogate(c)) {
          name.append(c).append(ALPHABET.charAt(index + 1));
        } else if (!Character.isLowSurrogate(c)) {
          name.append(c);
        }
      } else {
        name.appendCodePoint(random.nextInt(0x2FFF) + 0x20);
      }
    }
    return name.toString();
  }

  @Test
  void sanitisedNamesAreNonEmptyBoundedIdempotentAndShellFriendly() {
    Random random = new Random(SEED);
    System.out.println("properties: seed " + SEED + ", " + CASES + " cases per property");
    for (int i = 0; i < CASES; i++) {
      String raw = randomName(random);
      String clean = AgentNames.sanitize(raw);
      assertThat(clean).as("sanitize(%s)", raw).isNotEmpty()
        .doesNotStartWith("-").doesNotEndWith("-").doesNotStartWith(".");
      assertThat(clean.codePointCount(0, clean.length())).isLessThanOrEqualTo(AgentNames.MAX_DERIVED_LENGTH);
      assertThat(clean.codePoints().allMatch(cp -> Character.isLetterOrDigit(cp) || cp == '.' || cp == '_' || cp == '-'))
        .as("charset of %s", clean).isTrue();
      assertThat(AgentNames.sanitize(clean)).as("idempotent on %s", raw).isEqualTo(clean);
    }
  }

  @Test
  void anyNameSurvivesEncodingIntoOnePathSegmentAndBack() {
    Random random = new Random(SEED + 1);
    for (int i = 0; i < CASES; i++) {
      String name = randomName(random);
      if (name.isEmpty()) {
        continue;
      }
      String segment = RelaycastClient.encodeSegment(name);
      assertThat(segment).as("encoded %s", name).matches("[A-Za-z0-9._*%-]+");
      // java.net.URI decodes a path as a server does: percent-escapes only, '+' stays '+'.
      assertThat(URI.create("/" + segment).getPath()).as("round trip of %s", name).isEqualTo("/" + name);
    }
  }

  @Test
  void arbitraryJsonNeverThrowsAnythingButTheTypedFailure() {
    Random random = new Random(SEED + 2);
    List<Function<Object, ?>> decoders = List.of(
      data -> RelaycastClient.registration(data, "n"),
      data -> RelaycastClient.agentRecord(data, "n"),
      data -> RelaycastClient.rotatedToken(data, "n"),
      data -> RelaycastClient.takeoverResult(data, "n"),
      RelaycastClient::createdWorkspace);
    int successes = 0;
    for (int i = 0; i < CASES; i++) {
      Object body = randomEnvelopeish(random, 0);
      Buffer bytes = random.nextInt(20) == 0 ? Buffer.buffer(randomName(random)) : Buffer.buffer(String.valueOf(encode(body)));
      int status = List.of(200, 201, 400, 401, 404, 409, 429, 500, 503).get(random.nextInt(9));
      for (Function<Object, ?> decoder : decoders) {
        Future<?> result = RelaycastClient.decode("GET /x", random.nextBoolean(), status, random.nextBoolean() ? "7" : null,
          random.nextBoolean() ? "text/html" : "application/json", bytes, decoder);
        assertThat(result.isComplete()).isTrue();
        if (result.succeeded()) {
          successes++;
          assertThat(status).isBetween(200, 299);
        } else {
          assertThat(result.cause()).as("body %s", bytes).isInstanceOf(BrokerFailure.class);
          assertThat(result.cause().getMessage()).isNotBlank();
        }
      }
    }
    System.out.println("properties: lenient decoding: " + CASES * decoders.size() + " decodes, " + successes + " successes");
    assertThat(successes).as("the generator does reach valid shapes").isPositive();
  }

  private static Object encode(Object value) {
    if (value instanceof JsonObject o) {
      return o.encode();
    }
    if (value instanceof JsonArray a) {
      return a.encode();
    }
    return value instanceof String s ? "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"" : value;
  }

  /** Random JSON that often looks like the envelope, so decoders see plausible and broken shapes alike. */
  private static Object randomEnvelopeish(Random random, int depth) {
    if (depth == 0 && random.nextInt(3) > 0) {
      JsonObject envelope = new JsonObject();
      if (random.nextInt(5) > 0) {
        envelope.put("ok", random.nextInt(4) > 0 ? Boolean.TRUE : randomValue(random, depth + 1));
      }
      JsonObject data = new JsonObject();
      for (String field : List.of("id", "agent_id", "name", "token", "status", "metadata", "workspace_id", "api_key", "audit_id")) {
        if (random.nextBoolean()) {
          data.put(field, random.nextInt(3) > 0 ? "v" + random.nextInt(100) : randomValue(random, depth + 2));
        }
      }
      envelope.put(random.nextInt(4) > 0 ? "data" : "error", random.nextInt(6) > 0 ? data : randomValue(random, depth + 1));
      return envelope;
    }
    return randomValue(random, depth);
  }

  private static Object randomValue(Random random, int depth) {
    switch (random.nextInt(depth > 3 ? 5 : 7)) {
      case 0: return null;
      case 1: return random.nextBoolean();
      case 2: return random.nextInt();
      case 3: return random.nextDouble();
      case 4: return randomName(random);
      case 5: {
        JsonArray array = new JsonArray();
        for (int i = random.nextInt(4); i > 0; i--) {
          array.add(randomValue(random, depth + 1));
        }
        return array;
      }
      default: {
        JsonObject object = new JsonObject();
        for (int i = random.nextInt(4); i > 0; i--) {
          object.put(randomName(random), randomValue(random, depth + 1));
        }
        return object;
      }
    }
  }
}
