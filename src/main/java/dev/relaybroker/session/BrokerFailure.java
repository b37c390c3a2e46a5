package dev.relaybroker.session;

/**
 * The broker's one failure type. It is made by three named factories only: {@link #fromCloud} for a cloud
 * answer that is not a success, {@link #transport} for a request that got no answer, and {@link #refusal} for a
 * decision of the broker's own policy. The first two carry the HTTP facts the identity flow decides on and are
 * not yet <em>explained</em>; the identity flow explains each exactly once (naming agent, workspace and step),
 * and a refusal is explained when it is made. Messages never contain a key or a token: they are built from
 * codes, names and statuses only.
 */
public final class BrokerFailure extends RuntimeException {
  private final FailureCause cause;
  private final int httpStatus;
  private final String cloudCode;
  private final Long retryAfterMs;
  private final String step;
  private final boolean explained;

  private BrokerFailure(FailureCause cause, String message, int httpStatus, String cloudCode,
                        Long retryAfterMs, String step, boolean explained) {
    // No stack trace: these are expected outcomes of talking to a network, and some are retried forever.
    super(message, null, false, false);
    this.cause = cause;
    this.httpStatus = httpStatus;
    this.cloudCode = cloudCode;
    this.retryAfterMs = retryAfterMs;
    this.step = step;
    this.explained = explained;
  }

  /** A decision of the broker's own (policy, a takeover seen by presence): already explained for people. */
  public static BrokerFailure refusal(FailureCause cause, String message) {
    return new BrokerFailure(cause, message, 0, null, null, null, true);
  }

  /** A cloud answer that is not a success, with the HTTP facts the identity flow decides on. */
  public static BrokerFailure fromCloud(FailureCause cause, String message, int httpStatus, String cloudCode, Long retryAfterMs) {
    return new BrokerFailure(cause, message, httpStatus, cloudCode, retryAfterMs, null, false);
  }

  /** A request that got no answer: refused, reset, timed out, TLS or HTTP garbage. */
  public static BrokerFailure transport(FailureCause cause, String message) {
    return new BrokerFailure(cause, message, 0, null, null, null, false);
  }

  /** Any throwable as a BrokerFailure; unknown ones become an explained, non-retryable internal failure. */
  public static BrokerFailure of(Throwable failure) {
    if (failure instanceof BrokerFailure bf) {
      return bf;
    }
    return refusal(FailureCause.INTERNAL_ERROR, failure.getClass().getSimpleName() + ": " + failure.getMessage());
  }

  public FailureCause cause() { return cause; }
  /** Stable snake_case code of {@link #cause()}. */
  public String code() { return cause.code(); }
  /** Whether the same request may succeed later with nothing changed; see {@link FailureCause}. */
  public boolean retryable() { return cause.retryable(); }
  /** HTTP status of the cloud's answer; 0 when none arrived. */
  public int httpStatus() { return httpStatus; }
  /** The {@code error.code} of the cloud's envelope, when there was one. */
  public String cloudCode() { return cloudCode; }
  /** The server's {@code Retry-After}, in milliseconds, when it sent one. */
  public Long retryAfterMs() { return retryAfterMs; }
  /** The identity-flow step that failed ("register", "read existing agent", …), when known. */
  public String step() { return step; }
  /** True once the message names agent, workspace and step for a person (see IdentityVerticle#explain). */
  public boolean explained() { return explained; }

  public BrokerFailure atStep(String newStep) {
    return new BrokerFailure(cause, getMessage(), httpStatus, cloudCode, retryAfterMs, newStep, explained);
  }

  /** The same facts with a message for people; the cause stays. */
  public BrokerFailure explained(String message) {
    return new BrokerFailure(cause, message, httpStatus, cloudCode, null, step, true);
  }

  /** The same HTTP facts under another cause (the flow knows what a 401 in this step means) and a message for people. */
  public BrokerFailure explainedAs(FailureCause newCause, String message) {
    return new BrokerFailure(newCause, message, httpStatus, cloudCode, null, step, true);
  }

  public boolean isStatus(int status) {
    return httpStatus == status;
  }

  public boolean is(FailureCause expected) {
    return cause == expected;
  }

  public boolean hasCloudCode(String expected) {
    return expected.equals(cloudCode);
  }

  @Override
  public String toString() {
    return code() + ": " + getMessage();
  }
}
