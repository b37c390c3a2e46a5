package dev.relaybroker.config;

/** Small rules shared by the options classes. */
final class Json {
  private Json() {
  }

  /** A string trimmed, with blank and missing both meaning "not set". */
  static String blankToNull(String value) {
    if (value == null) {
      return null;
    }
    String trimmed = value.trim();
    return trimmed.isEmpty() ? null : trimmed;
  }
}
