package dev.relaybroker.session;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Everything a client may ask about the broker's session, as one immutable value. The identity verticle is its
 * only writer: it publishes each new snapshot on {@link Addresses#SESSION_SNAPSHOT} (local only, passed as is by
 * {@link LocalCodec}), and every surface — the local API's fast path and router, the Unix socket,
 * {@code relay.session.get}, {@code /health}, the {@code /ws} journal — answers from the latest one. So no two
 * surfaces can disagree about whether a token may be served.
 *
 * <p>The rule a client depends on: {@link #session()} is present exactly while the broker holds a token that
 * nothing has proven dead — also while a rollover is under way or retrying through an outage (make before break,
 * SPEC §2 step 7). A 401 to the token, a 4001 close or a takeover seen by presence withdraws it.
 *
 * @param seq      increases by one with every snapshot
 * @param state    the identity flow's state
 * @param message  what the flow is doing or waiting for, for people ("rolling over the token of agent 'x'")
 * @param retry    the wait under way when {@code state} is {@code retrying}, else null
 * @param session  the token to serve, or null
 * @param failure  why there is no session when {@code state} is failed or superseded (who holds the agent now), else null
 * @param presence the realtime connection's state, as presence last reported it
 * @param presenceMessage what presence last said
 * @param channels the channels the agent has joined
 * @param channelErrors the configured channels not joined (yet), with why
 */
public record SessionSnapshot(long seq, Instant at, SessionState state, String message, Retry retry, Session session,
                              BrokerFailure failure, PresenceState presence, String presenceMessage,
                              List<String> channels, Map<String, String> channelErrors) {

  /** A wait between two attempts of one cloud call. */
  public record Retry(String step, FailureCause cause, String lastError, int attempt, long delayMs) {
  }

  public SessionSnapshot {
    channels = List.copyOf(channels);
    channelErrors = Map.copyOf(channelErrors);
  }

  /** The first snapshot of a broker: starting, nothing to serve yet. */
  public static SessionSnapshot initial(boolean presenceEnabled) {
    return new SessionSnapshot(0, Instant.now(), SessionState.STARTING, "starting", null, null, null,
      presenceEnabled ? PresenceState.CONNECTING : PresenceState.DISABLED, null, List.of(), Map.of());
  }

  /** The answer every surface gives: 200 a session, 409 superseded, 502 failed, 503 not yet (SPEC §3, §4). */
  public int status() {
    if (state == SessionState.SUPERSEDED) {
      return 409;
    }
    if (session != null) {
      return 200;
    }
    return state == SessionState.FAILED ? 502 : 503;
  }

  /** True when a held request can be answered: a session exists, or none will come without a new request. */
  public boolean settled() {
    return status() != 503 || state == SessionState.STOPPING;
  }

  /** For a 503: what the broker waits for, for people. */
  public String waitingFor() {
    return "the broker is " + state.wireName() + " (" + message + ")";
  }

  /** True while a token rollover (or the reclaim after a dead token) is under way. */
  public boolean busy() {
    return state == SessionState.STARTING || state == SessionState.REGISTERING || state == SessionState.RECLAIMING
      || state == SessionState.RETRYING;
  }

  // Withers: each returns the next snapshot with one concern changed and the sequence number advanced.

  /**
   * A step of the flow (or a wait between attempts). The failure of an earlier state is not carried: a cause
   * belongs to the state it explains, and a {@code registering} after a takeover is not itself a takeover.
   */
  public SessionSnapshot entering(SessionState nextState, String nextMessage, Retry nextRetry) {
    return new SessionSnapshot(seq + 1, Instant.now(), nextState, nextMessage, nextRetry, session, null, presence,
      presenceMessage, channels, channelErrors);
  }

  public SessionSnapshot ready(Session resolved, String nextMessage) {
    return new SessionSnapshot(seq + 1, Instant.now(), SessionState.READY, nextMessage, null, resolved, null, presence,
      presenceMessage, channels, channelErrors);
  }

  /** The token is proven dead: stop serving it, whatever the flow does next. */
  public SessionSnapshot withdrawn(SessionState nextState, String nextMessage) {
    return new SessionSnapshot(seq + 1, Instant.now(), nextState, nextMessage, null, null, null, presence,
      presenceMessage, List.of(), Map.of());
  }

  /** Failed or superseded: no session, and this failure is why. */
  public SessionSnapshot refused(SessionState nextState, BrokerFailure why) {
    return new SessionSnapshot(seq + 1, Instant.now(), nextState, why.getMessage(), null, null, why, presence,
      presenceMessage, List.of(), Map.of());
  }

  public SessionSnapshot withPresence(PresenceState nextPresence, String nextMessage) {
    return new SessionSnapshot(seq + 1, Instant.now(), state, message, retry, session, failure, nextPresence,
      nextMessage, channels, channelErrors);
  }

  public SessionSnapshot withChannels(List<String> joined, Map<String, String> errors) {
    return new SessionSnapshot(seq + 1, Instant.now(), state, message, retry, session, failure, presence,
      presenceMessage, joined, errors);
  }

  /** Never prints the token: snapshots end up in log lines by accident. */
  @Override
  public String toString() {
    return "SessionSnapshot[seq=" + seq + ", state=" + state.wireName() + ", session=" + session + ", presence="
      + presence.wireName() + (failure != null ? ", failure=" + failure.code() : "") + "]";
  }
}
