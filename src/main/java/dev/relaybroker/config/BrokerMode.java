package dev.relaybroker.config;

import java.util.Locale;

/** How the broker holds its agent name (SPEC §2). */
public enum BrokerMode {
  /** {@code relay-broker up}: the name is strict and reclaimed on conflict; transient errors are retried forever. */
  PERSIST,
  /** {@code relay-broker init} as SDKs spawn it: a conflict gets a suffixed name; the broker lives on an owner lease. */
  EPHEMERAL;

  public static BrokerMode parse(String value) {
    return valueOf(value.trim().toUpperCase(Locale.ROOT));
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
