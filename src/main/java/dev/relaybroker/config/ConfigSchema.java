package dev.relaybroker.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks the raw shape of a config object before {@link BrokerOptions} reads it: unknown keys (typos) and wrong
 * types are all reported together, instead of a ClassCastException on the first one.
 */
public final class ConfigSchema {
  private enum Type { STRING, INTEGER, BOOLEAN, STRING_ARRAY, OBJECT }

  private static final Map<String, Type> TOP = Map.ofEntries(
    Map.entry("name", Type.STRING), Map.entry("mode", Type.STRING), Map.entry("reclaim", Type.STRING),
    Map.entry("stateDir", Type.STRING), Map.entry("channels", Type.STRING_ARRAY), Map.entry("leaseSecs", Type.INTEGER),
    Map.entry("failedGraceSecs", Type.INTEGER), Map.entry("emulatorEngine", Type.STRING),
    Map.entry("cloud", Type.OBJECT), Map.entry("api", Type.OBJECT), Map.entry("presence", Type.OBJECT),
    Map.entry("metrics", Type.OBJECT));
  private static final Map<String, Type> METRICS = Map.of("enabled", Type.BOOLEAN);
  private static final Map<String, Type> CLOUD = Map.of(
    "baseUrl", Type.STRING, "workspaceKey", Type.STRING, "requestTimeoutMs", Type.INTEGER,
    "connectTimeoutMs", Type.INTEGER, "retryInitialDelayMs", Type.INTEGER, "retryMaxDelayMs", Type.INTEGER,
    "retryMaxAttempts", Type.INTEGER, "allowInsecureHttp", Type.BOOLEAN);
  private static final Map<String, Type> API = Map.ofEntries(
    Map.entry("enabled", Type.BOOLEAN), Map.entry("bind", Type.STRING), Map.entry("port", Type.INTEGER),
    Map.entry("allowNonLoopback", Type.BOOLEAN), Map.entry("apiKey", Type.STRING), Map.entry("unixSocket", Type.BOOLEAN),
    Map.entry("maxBodyBytes", Type.INTEGER), Map.entry("idleTimeoutSecs", Type.INTEGER), Map.entry("eventBufferSize", Type.INTEGER),
    Map.entry("headerTimeoutSecs", Type.INTEGER), Map.entry("sessionWaitMs", Type.INTEGER));
  private static final Map<String, Type> PRESENCE = Map.of(
    "enabled", Type.BOOLEAN, "pingIntervalMs", Type.INTEGER, "reconnectInitialDelayMs", Type.INTEGER,
    "reconnectMaxDelayMs", Type.INTEGER, "connectTimeoutMs", Type.INTEGER);
  private static final Set<String> COMMENT_KEYS = Set.of("_comment", "$comment");

  private ConfigSchema() {
  }

  /**
   * Adds every shape problem to {@code problems} and returns a copy without the offending keys, so the values
   * that are well-formed can still be validated and reported in the same run.
   */
  public static JsonObject check(JsonObject config, List<String> problems) {
    JsonObject clean = config.copy();
    checkSection("", clean, TOP, problems);
    if (clean.getValue("cloud") instanceof JsonObject cloud) {
      checkSection("cloud.", cloud, CLOUD, problems);
    }
    if (clean.getValue("api") instanceof JsonObject api) {
      checkSection("api.", api, API, problems);
    }
    if (clean.getValue("presence") instanceof JsonObject presence) {
      checkSection("presence.", presence, PRESENCE, problems);
    }
    if (clean.getValue("metrics") instanceof JsonObject metrics) {
      checkSection("metrics.", metrics, METRICS, problems);
    }
    checkEnum(clean, "mode", Set.of("persist", "ephemeral"), problems);
    checkEnum(clean, "reclaim", Set.of("own", "offline", "always"), problems);
    return clean;
  }

  private static void checkSection(String prefix, JsonObject section, Map<String, Type> known, List<String> problems) {
    for (String key : List.copyOf(section.fieldNames())) {
      Type type = known.get(key);
      Object value = section.getValue(key);
      if (type == null) {
        if (!COMMENT_KEYS.contains(key)) {
          problems.add("unknown config key '" + prefix + key + "' (known: " + String.join(", ", known.keySet()) + ")");
        }
        section.remove(key);
      } else if (value != null && !hasType(value, type)) {
        problems.add("config key '" + prefix + key + "' must be " + type.name().toLowerCase().replace('_', ' '));
        section.remove(key);
      }
    }
  }

  private static boolean hasType(Object value, Type type) {
    return switch (type) {
      case STRING -> value instanceof String;
      case INTEGER -> value instanceof Integer || value instanceof Long
        || (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()));
      case BOOLEAN -> value instanceof Boolean;
      case OBJECT -> value instanceof JsonObject;
      case STRING_ARRAY -> value instanceof JsonArray array && array.stream().allMatch(v -> v instanceof String);
    };
  }

  private static void checkEnum(JsonObject config, String key, Set<String> allowed, List<String> problems) {
    if (config.getValue(key) instanceof String value && !allowed.contains(value.trim().toLowerCase())) {
      problems.add(key + " must be one of " + String.join(", ", allowed.stream().sorted().toList()) + ", got '" + value + "'");
      config.remove(key);
    }
  }
}
