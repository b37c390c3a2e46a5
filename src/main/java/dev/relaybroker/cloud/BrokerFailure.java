package dev.relaybroker.cloud;

/**
 * The broker's one failure type. {@link RelaycastClient} makes it from every cloud answer that is not a success
 * (status, envelope, transport), and the identity flow turns it into one of the stable codes of SPEC §2 at its
 * edge. Messages never contain a key or a token: they are built from codes, names and statuses only.
 */
public class BrokerFailure extends RuntimeException {
  // Stable causes a client can act on (SPEC §2).
  public static final String AGENT_NAME_CONFLICT = "agent_name_conflict";
  public static final String AGENT_LIVE_ELSEWHERE = "agent_live_elsewhere";
  public static final String WORKSPACE_KEY_REJECTED = "workspace_key_rejected";
  public static final String RECLAIM_UNSUPPORTED = "reclaim_unsupported";
  public static final String CLOUD_PROTOCOL_ERROR = "cloud_protocol_error";
  // Transport-level causes made by the client; retryable.
  public static final String CLOUD_UNREACHABLE = "cloud_unreachable";
  public static final String CLOUD_TIMEOUT = "cloud_timeout";

  private final String code;
  private final boolean retryable;
  private final int httpStatus;
  private final String cloudCode;
  private final Long retryAfterMs;
  private final String step;
  private final boolean explained;

  /** A failure the broker decided on itself (a refusal by policy): already explained for people. */
  public BrokerFailure(String code, String message, boolean retryable) {
    this(code, message, retryable, 0, null, null, null, true);
  }

  /** A failure as the cloud client saw it; the identity flow still has to explain it. */
  public BrokerFailure(String code, String message, boolean retryable, int httpStatus, String cloudCode,
                       Long retryAfterMs, String step) {
    this(code, message, retryable, httpStatus, cloudCode, retryAfterMs, step, false);
  }

  private BrokerFailure(String code, String message, boolean retryable, int httpStatus, String cloudCode,
                        Long retryAfterMs, String step, boolean explained) {
    // No stack trace: these are expected outcomes of talking to a network, and some are retried forever.
    super(message, null, false, false);
    this.code = code;
    this.retryable = retryable;
    this.httpStatus = httpStatus;
    this.cloudCode = cloudCode;
    this.retryAfterMs = retryAfterMs;
    this.step = step;
    this.explained = explained;
  }

  /** Stable, snake_case: one of the SPEC codes once the flow has explained it, else the cloud's own code. */
  public String code() { return code; }
  public boolean retryable() { return retryable; }
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
    return new BrokerFailure(code, getMessage(), retryable, httpStatus, cloudCode, retryAfterMs, newStep, explained);
  }

  /** The same HTTP facts under a stable code and a message for people; never retryable. */
  public BrokerFailure explainedAs(String stableCode, String message) {
    return new BrokerFailure(stableCode, message, false, httpStatus, cloudCode, null, step, true);
  }

  public boolean isStatus(int status) {
    return httpStatus == status;
  }

  public boolean hasCloudCode(String expected) {
    return expected.equals(cloudCode);
  }

  /** Any throwable as a BrokerFailure; unknown ones become a non-retryable internal failure. */
  public static BrokerFailure of(Throwable failure) {
    if (failure instanceof BrokerFailure bf) {
      return bf;
    }
    return new BrokerFailure("internal_error", failure.getClass().getSimpleName() + ": " + failure.getMessage(), false);
  }

  @Override
  public String toString() {
    return code + ": " + getMessage();
  }
}
