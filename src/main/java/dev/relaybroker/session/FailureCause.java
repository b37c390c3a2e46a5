package dev.relaybroker.session;

import java.util.Locale;
import java.util.Set;

/**
 * The closed set of causes a client can see (SPEC §2): the {@code code} of a 502 from the local API, the
 * {@code cause} of a {@code failed} state event and the cause of a failed {@code relay.session.get}.
 *
 * <p>{@code retryable} is a property of the cause and means the same thing everywhere: the same request may
 * succeed later without anybody changing anything (the cloud was down, slow or unreachable). A failure that
 * needs a person (a rejected key, a name held elsewhere) is never retryable.
 */
public enum FailureCause {
  AGENT_NAME_CONFLICT(false),
  AGENT_LIVE_ELSEWHERE(false),
  /** The record carries another owner's {@code identity_key} and the policy does not take it (12.4.1's code). */
  AGENT_IDENTITY_MISMATCH(false),
  AGENT_SUPERSEDED(false),
  AGENT_NOT_FOUND(false),
  WORKSPACE_KEY_REJECTED(false),
  /** A 401/403 to the agent token: the token is dead. The flow acts on it; a client sees it only if nothing could. */
  AGENT_TOKEN_REJECTED(false),
  RECLAIM_UNSUPPORTED(false),
  CLOUD_PROTOCOL_ERROR(false),
  /** The cloud refused the request itself (a 4xx not covered above): a client or cloud defect, not transient. */
  CLOUD_REJECTED(false),
  /** 5xx, 408, 429, or a success body that is not JSON (a captive portal): transient. */
  CLOUD_UNAVAILABLE(true),
  CLOUD_UNREACHABLE(true),
  CLOUD_TIMEOUT(true),
  CONFIG_INVALID(false),
  /**
   * A flow step (or a refresh) that would begin after the stop did: it ends the flow without a cloud call. A client
   * sees the state {@code stopping} (503) instead; the cause names why a flow ended for the log and for tests.
   */
  BROKER_STOPPING(false),
  INTERNAL_ERROR(false);

  /** The conflict codes the live cloud has been seen to use on a taken name (SPEC §1). */
  private static final Set<String> CONFLICT_CODES = Set.of(
    "agent_already_exists", "name_conflict", "name_taken", "conflict", "duplicate", "agent_id_mismatch");

  private final boolean retryable;

  FailureCause(boolean retryable) {
    this.retryable = retryable;
  }

  /** Stable snake_case wire name, e.g. {@code workspace_key_rejected}. */
  public String code() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean retryable() {
    return retryable;
  }

  public static FailureCause parse(String code) {
    return valueOf(code.toUpperCase(Locale.ROOT));
  }

  /**
   * The one mapping table from a cloud answer to a cause. {@code workspaceKeyUsed} tells a rejected key from a
   * dead token: both are 401, and they mean very different things.
   */
  public static FailureCause fromCloud(int status, String cloudCode, boolean workspaceKeyUsed) {
    if (status == 408 || status == 429 || status >= 500) {
      return CLOUD_UNAVAILABLE;                      // service_unavailable, rate_limited, internal_error, …
    }
    if (status == 401 || status == 403) {
      return workspaceKeyUsed ? WORKSPACE_KEY_REJECTED : AGENT_TOKEN_REJECTED;
    }
    if (status == 404) {
      // A missing route (legacy engines' takeover, or not a Relaycast API at all) is not a missing agent.
      return "agent_not_found".equals(cloudCode) ? AGENT_NOT_FOUND : CLOUD_PROTOCOL_ERROR;
    }
    if (status == 409 || (cloudCode != null && CONFLICT_CODES.contains(cloudCode))) {
      return AGENT_NAME_CONFLICT;
    }
    return CLOUD_REJECTED;                           // 400 invalid_request, 413, ok:false on a 2xx (quota_exceeded)
  }
}
