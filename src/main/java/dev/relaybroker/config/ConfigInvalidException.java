package dev.relaybroker.config;

import java.util.List;

/** The configuration cannot be used; carries every problem found, for one complete report. */
public class ConfigInvalidException extends RuntimeException {
  public static final String CODE = "config_invalid";
  private final List<String> problems;

  public ConfigInvalidException(List<String> problems) {
    super("invalid configuration: " + String.join("; ", problems), null, false, false);
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
