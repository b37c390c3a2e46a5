package dev.relaybroker.config;

import java.util.Locale;

/** Which existing record a strict name may take over after a 409 (SPEC §2 step 4). */
public enum ReclaimPolicy {
  /** Only a record this installation created (identity hash or cached agent id). */
  OWN,
  /** Ours, or a foreign record that is not live. The default: never seize another machine's live agent. */
  OFFLINE,
  /** Any record, even one live on another machine (the original, risky behaviour). */
  ALWAYS;

  public static ReclaimPolicy parse(String value) {
    return valueOf(value.trim().toUpperCase(Locale.ROOT));
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
