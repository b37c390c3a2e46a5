package dev.relaybroker.config;

import io.vertx.core.json.JsonObject;

/** Small readers shared by the options classes. */
final class Json {
  private Json() {
  }

  /** A string field trimmed, with blank and missing both meaning "not set". */
  static String trimmedString(JsonObject json, String field) {
    Object value = json.getValue(field);
    if (value == null) {
      return null;
    }
    String trimmed = String.valueOf(value).trim();
    return trimmed.isEmpty() ? null : trimmed;
  }
}
