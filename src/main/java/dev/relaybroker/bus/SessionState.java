package dev.relaybroker.bus;

import java.util.Locale;

/** The identity flow's states as published on {@link Addresses#SESSION_STATE}. */
public enum SessionState {
  STARTING, REGISTERING, RECLAIMING, RETRYING, READY, FAILED, STOPPING;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static SessionState parse(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
