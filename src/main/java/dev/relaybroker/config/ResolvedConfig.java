package dev.relaybroker.config;

import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;

/**
 * The options the broker runs with, where each value came from, and the settings that were given but not used.
 *
 * @param sources dotted path ({@code cloud.baseUrl}) → {@code --base-url}, {@code the environment variable …},
 *                {@code … in conf/config.json} or {@code default}
 * @param ignored one line per setting a higher layer made unused (see {@link CloudPair})
 */
public record ResolvedConfig(BrokerOptions options, Map<String, String> sources, List<String> ignored) {
  private static final List<String> SECRET_PATHS = List.of("cloud.workspaceKey", "api.apiKey");

  /**
   * Every value with its source, secrets masked: {@code {"cloud": {"baseUrl": {"value": …, "source": …}}}}. What
   * {@code relay-broker config} prints, so a user sees which cloud a key goes to without starting anything.
   */
  public JsonObject describe() {
    JsonObject out = new JsonObject();
    JsonObject values = options.toJson();
    sources.forEach((path, source) -> {
      String[] parts = path.split("\\.");
      JsonObject valueHolder = values;
      JsonObject outHolder = out;
      for (int i = 0; i < parts.length - 1; i++) {
        valueHolder = valueHolder.getJsonObject(parts[i], new JsonObject());
        if (outHolder.getJsonObject(parts[i]) == null) {
          outHolder.put(parts[i], new JsonObject());
        }
        outHolder = outHolder.getJsonObject(parts[i]);
      }
      Object value = valueHolder.getValue(parts[parts.length - 1]);
      if (value != null && SECRET_PATHS.contains(path)) {
        value = mask(String.valueOf(value));
      }
      outHolder.put(parts[parts.length - 1], new JsonObject().put("value", value).put("source", source));
    });
    if (!ignored.isEmpty()) {
      out.put("ignored", new io.vertx.core.json.JsonArray(ignored));
    }
    return out;
  }

  /** {@code rk_live_…} keeps its kind and nothing of the secret part. */
  static String mask(String secret) {
    int kindEnd = secret.startsWith("rk_") ? secret.indexOf('_', 3) : -1;
    return (kindEnd > 0 ? secret.substring(0, kindEnd + 1) : "") + "****";
  }
}
