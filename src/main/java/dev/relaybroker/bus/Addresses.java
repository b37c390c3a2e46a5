package dev.relaybroker.bus;

/** Event-bus addresses (SPEC §4). Wire names: JVM consumers depend on them. */
public final class Addresses {
  /** Publish: {@code {"state","cause"?,"message"?,"attempt"?}} on every transition. Never carries a secret. */
  public static final String SESSION_STATE = "relay.session.state";
  /** Publish, local only: the resolved {@link Session}, token included. */
  public static final String SESSION_RESOLVED = "relay.session.resolved";
  /** Request/reply: the session, or a failure whose code is the HTTP-like status and message "code: text". */
  public static final String SESSION_GET = "relay.session.get";
  /** Request/reply: the new session after a token rollover. */
  public static final String SESSION_REFRESH = "relay.session.refresh";
  /** Publish: {@code {"state": connecting|online|offline|superseded, "agentName", "message"?, "attempt"?}}. */
  public static final String PRESENCE_STATE = "relay.presence.state";
  /** Publish, local only: events the cloud pushed to the agent over its realtime connection. */
  public static final String EVENTS = "relay.events";
  /** Send: ask the application to stop gracefully (local API's /api/shutdown, lease expiry). */
  public static final String BROKER_SHUTDOWN = "relay.broker.shutdown";

  private Addresses() {
  }
}
