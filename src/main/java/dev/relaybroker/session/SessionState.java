package dev.relaybroker.session;

import java.util.Locale;

/** The identity flow's states as published on {@link Addresses#SESSION_STATE} (SPEC §4). */
public enum SessionState {
  STARTING, REGISTERING, RECLAIMING, RETRYING, READY, FAILED,
  /** Another installation took the agent over (presence saw it); this broker no longer serves it. */
  SUPERSEDED,
  STOPPING;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static SessionState parse(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
