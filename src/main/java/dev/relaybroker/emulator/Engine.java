package dev.relaybroker.emulator;

import java.util.Locale;

/** The two generations of Relaycast engines the broker must work with (SPEC §1). */
public enum Engine {
  /** rotate-token accepts the workspace key; takeover and recover do not exist. */
  LEGACY,
  /** Registration is create-only; rotate-token is self-rollover only; reclaiming is the audited takeover. */
  CURRENT;

  public static Engine parse(String value) {
    return Engine.valueOf(value.trim().toUpperCase(Locale.ROOT));
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
