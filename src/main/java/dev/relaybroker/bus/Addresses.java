package dev.relaybroker.bus;

/** Event-bus addresses (SPEC §4). Wire names: JVM consumers depend on them. */
public final class Addresses {
  /** Publish: {@code {"state","cause"?,"message"?,"attempt"?}} on every transition. Never carries a secret. */
  public static final String SESSION_STATE = "relay.session.state";
  /** Publish, local only: the resolved {@link Session}, token included. */
  public static final String SESSION_RESOLVED = "relay.session.resolved";
  /**
   * Request/reply: the session, or a {@link SessionUnavailable} (503 not yet, 502 failed, 409 superseded). A
   * request that arrives before the first session is held until it exists or has failed (SPEC §3 session hold),
   * bounded by the requester's delivery timeout; a {@code wait} header of {@code 0} answers at once.
   */
  public static final String SESSION_GET = "relay.session.get";
  /** Request/reply: the new session after a token rollover. */
  public static final String SESSION_REFRESH = "relay.session.refresh";
  /** Publish, local only: every {@link SessionSnapshot}, written by the identity verticle alone. */
  public static final String SESSION_SNAPSHOT = "relay.session.snapshot";
  /** Publish: {@code {"state": connecting|online|offline|superseded, "agentName", "message"?, "attempt"?}}. */
  public static final String PRESENCE_STATE = "relay.presence.state";
  /**
   * Send, local only (internal): presence proved that another installation holds the agent now, and asks the
   * identity verticle to record it. Body: {@code {"agentId","token","message"}}; the token tells a stale notice
   * (about a token already replaced) from a current one.
   */
  public static final String IDENTITY_SUPERSEDED = "relay.identity.superseded";
  /**
   * Request, local only (internal): presence reports that the cloud refused the token it holds; the identity verticle
   * answers {@code check} (no flow under way: presence asks the cloud what it means), {@code wait} (a flow is under
   * way: the refusal is sent back on {@link #PRESENCE_CHECK_REFUSAL} if it still matters when the flow ends) or
   * {@code stale} (not the token served: nothing to do). Body: {@code {"token": fingerprint, "why", "invalidated"}}.
   */
  public static final String IDENTITY_TOKEN_REFUSED = "relay.identity.token-refused";
  /** Send, local only (internal): a refusal held during an identity flow is to be checked now; the same body. */
  public static final String PRESENCE_CHECK_REFUSAL = "relay.presence.check-refusal";
  /** Publish, local only: events the cloud pushed to the agent over its realtime connection. */
  public static final String EVENTS = "relay.events";
  /** Send, local only (internal): a client renewed the ephemeral broker's owner lease. */
  public static final String LEASE_RENEW = "relay.broker.lease.renew";
  /** Send: ask the application to stop gracefully (local API's /api/shutdown, lease expiry). */
  public static final String BROKER_SHUTDOWN = "relay.broker.shutdown";

  private Addresses() {
  }
}
