package dev.relaybroker.session;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/**
 * Why {@code relay.session.get} or {@code relay.session.refresh} has no session to give: a
 * {@link ReplyException} whose {@link #failureCode()} is 503 (not ready yet), 502 (failed) or 409 (superseded),
 * as SPEC §4 says. It carries the typed {@link BrokerFailure} (502, 409) or what the broker waits for (503), so a
 * JVM consumer never parses a message; the message is {@code "<code>: <text>"} for those that only read text.
 */
public final class SessionUnavailable extends ReplyException {
  /** The code of a 503: no session yet. */
  public static final String BROKER_STARTING = "broker_starting";

  private final transient BrokerFailure failure;
  private final SessionState state;
  private final String waitingFor;

  private SessionUnavailable(int failureCode, SessionState state, BrokerFailure failure, String waitingFor) {
    super(ReplyFailure.RECIPIENT_FAILURE, failureCode,
      failure != null ? failure.code() + ": " + failure.getMessage() : BROKER_STARTING + ": " + waitingFor);
    this.failure = failure;
    this.state = state;
    this.waitingFor = waitingFor;
  }

  /** Built from the snapshot the answer was given from (one without a servable session). */
  public static SessionUnavailable from(SessionSnapshot snapshot) {
    int status = snapshot.status();
    return status == 503
      ? new SessionUnavailable(503, snapshot.state(), null, snapshot.waitingFor())
      : new SessionUnavailable(status, snapshot.state(), snapshot.failure(), null);
  }

  /** A refresh that failed while the current token stays served (make before break): 502 with why. */
  public static SessionUnavailable refreshFailed(SessionState state, BrokerFailure failure) {
    return new SessionUnavailable(502, state, failure, null);
  }

  /** The cause of a 502 or 409; null for a 503. */
  public BrokerFailure failure() {
    return failure;
  }

  /** For a 503: what the broker waits for ("registering agent 'x' …; last: …"); null otherwise. */
  public String waitingFor() {
    return waitingFor;
  }

  /** The broker's state when the answer was given. */
  public SessionState state() {
    return state;
  }

  /** 503: not ready yet, ask again. */
  public boolean notReadyYet() {
    return failureCode() == 503;
  }
}
