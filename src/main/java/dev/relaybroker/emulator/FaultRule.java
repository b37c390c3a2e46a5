package dev.relaybroker.emulator;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One injected fault: the next {@code count} requests whose method and path match answer with it instead of
 * the normal behaviour. Paths are globs over the raw (still URL-encoded) path where {@code *} matches any run
 * of characters, so {@code /v1/agents/*}{@code /takeover} hits every agent's takeover.
 */
final class FaultRule {

  /** What the fault does; each kind says it for a REST call and for a realtime upgrade (see the two switches). */
  enum Kind {
    /** Answer {@code status} with an error envelope (or {@code body} verbatim); a refused upgrade on /v1/ws. */
    STATUS,
    /** Close the connection without answering, on REST and at the upgrade alike. */
    RESET,
    /** Answer 200 with a body that is not JSON (the upgrade too is answered with it, so refused). */
    MALFORMED,
    /** Answer 200 with an HTML page, as a captive portal or proxy would (the upgrade too). */
    HTML,
    /** Answer 200 with an empty body (the upgrade too). */
    EMPTY,
    /** Wait {@code delayMs}, then behave normally: answer the call, or accept the upgrade. */
    DELAY,
    /**
     * REST: do what was asked, then close the connection instead of answering (the reply is lost: the client
     * cannot tell whether a rotation happened). Realtime: accept, then close after {@code delayMs} (0: at once).
     */
    DROP,
    /** REST: take the request and never answer. Realtime: accept, and never answer pings. */
    MUTE,
    /** REST: never answer and never read again. Realtime: accept, then never read, as a peer that vanished. */
    FREEZE;

    /** What a REST call meets, after {@code delayMs}. */
    RestEffect onRest() {
      return switch (this) {
        case STATUS, RESET, MALFORMED, HTML, EMPTY -> RestEffect.ANSWER_INSTEAD;
        case DELAY -> RestEffect.PROCEED;
        case DROP -> RestEffect.PROCEED_THEN_LOSE_REPLY;
        case MUTE, FREEZE -> RestEffect.HANG;
      };
    }

    /** What a realtime upgrade meets, after {@code delayMs} for the kinds that refuse it. */
    RealtimeEffect onRealtime() {
      return switch (this) {
        case STATUS, RESET, MALFORMED, HTML, EMPTY -> RealtimeEffect.REFUSE_UPGRADE;
        case DELAY -> RealtimeEffect.ACCEPT_AFTER_DELAY;
        case DROP, MUTE, FREEZE -> RealtimeEffect.ACCEPT_THEN_SHAPE;
      };
    }
  }

  enum RestEffect { ANSWER_INSTEAD, PROCEED, PROCEED_THEN_LOSE_REPLY, HANG }

  enum RealtimeEffect { REFUSE_UPGRADE, ACCEPT_AFTER_DELAY, ACCEPT_THEN_SHAPE }

  final long id;
  final String method;
  final String pathGlob;
  final Pattern pathPattern;
  final Kind kind;
  final int status;
  final String code;
  final String message;
  final String body;
  final long delayMs;
  final Integer retryAfterSecs;
  int remaining;

  private FaultRule(long id, JsonObject json) {
    this.id = id;
    this.method = json.getString("method", "*").toUpperCase(Locale.ROOT);
    this.pathGlob = json.getString("path", "*");
    this.pathPattern = globToPattern(pathGlob);
    this.kind = Kind.valueOf(json.getString("kind", json.containsKey("status") ? "status" : "delay").toUpperCase(Locale.ROOT));
    this.status = json.getInteger("status", 500);
    this.code = json.getString("code");
    this.message = json.getString("message");
    this.body = json.getValue("body") == null ? null : String.valueOf(json.getValue("body"));
    this.delayMs = json.getLong("delay_ms", 0L);
    this.retryAfterSecs = json.getInteger("retry_after");
    this.remaining = json.getInteger("count", 1);
  }

  /** Parses a rule, returning every problem with it at once instead of failing on the first. */
  static FaultRule parse(long id, JsonObject json, List<String> problems) {
    List<String> local = new ArrayList<>();
    try {
      String kind = json.getString("kind");
      if (kind != null) {
        Kind.valueOf(kind.toUpperCase(Locale.ROOT));
      }
    } catch (IllegalArgumentException | ClassCastException e) {
      local.add("kind must be one of status, reset, malformed, html, empty, delay, drop, mute, freeze");
    }
    checkInt(json, "status", 100, 599, local);
    checkInt(json, "count", -1, Integer.MAX_VALUE, local);
    checkInt(json, "delay_ms", 0, 600_000, local);
    checkInt(json, "retry_after", 0, 86_400, local);
    if (json.containsKey("path") && !(json.getValue("path") instanceof String)) {
      local.add("path must be a string glob such as /v1/agents/*");
    }
    if (json.containsKey("method") && !(json.getValue("method") instanceof String)) {
      local.add("method must be a string such as POST or *");
    }
    problems.addAll(local);
    return local.isEmpty() ? new FaultRule(id, json) : null;
  }

  private static void checkInt(JsonObject json, String field, int min, int max, List<String> problems) {
    Object value = json.getValue(field);
    if (value == null) {
      return;
    }
    if (!(value instanceof Number) || ((Number) value).longValue() < min || ((Number) value).longValue() > max) {
      problems.add(field + " must be an integer in " + min + ".." + max);
    }
  }

  boolean matches(String requestMethod, String rawPath) {
    return remaining != 0
      && ("*".equals(method) || method.equals(requestMethod))
      && pathPattern.matcher(rawPath).matches();
  }

  /** Takes one use of the rule; a count of -1 never runs out. */
  void consume() {
    if (remaining > 0) {
      remaining--;
    }
  }

  JsonObject toJson() {
    return new JsonObject()
      .put("id", id)
      .put("method", method)
      .put("path", pathGlob)
      .put("kind", kind.name().toLowerCase(Locale.ROOT))
      .put("status", status)
      .put("delay_ms", delayMs)
      .put("retry_after", retryAfterSecs)
      .put("remaining", remaining);
  }

  private static Pattern globToPattern(String glob) {
    String[] literalParts = glob.split("\\*", -1);
    StringBuilder regex = new StringBuilder();
    for (int i = 0; i < literalParts.length; i++) {
      if (i > 0) {
        regex.append(".*");
      }
      if (!literalParts[i].isEmpty()) {
        regex.append(Pattern.quote(literalParts[i]));
      }
    }
    return Pattern.compile(regex.toString());
  }
}
