package dev.relaybroker.session;

import java.util.Locale;

/** What {@link Addresses#PRESENCE_STATE} reports about the agent's realtime connection (SPEC §4). */
public enum PresenceState {
  CONNECTING, ONLINE, OFFLINE, SUPERSEDED,
  /** Presence is turned off ({@code presence.enabled=false}): the broker holds no realtime connection. */
  DISABLED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static PresenceState parse(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
