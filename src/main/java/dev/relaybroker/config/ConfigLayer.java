package dev.relaybroker.config;

import io.vertx.core.json.JsonObject;

import java.util.function.Function;

/**
 * One layer of the configuration (the flags, the environment mapped to the config shape, the file), with how to
 * name where one of its values came from ({@code --base-url}, {@code the environment variable RELAY_API_KEY}).
 */
record ConfigLayer(JsonObject json, Function<String, String> describer) {

  /** Whether this layer sets the dotted path ({@code cloud.baseUrl}). */
  boolean sets(String path) {
    return value(path) != null;
  }

  Object value(String path) {
    Object current = json;
    for (String part : path.split("\\.")) {
      if (!(current instanceof JsonObject section)) {
        return null;
      }
      current = section.getValue(part);
    }
    return current;
  }

  String describe(String path) {
    return describer.apply(path);
  }
}
