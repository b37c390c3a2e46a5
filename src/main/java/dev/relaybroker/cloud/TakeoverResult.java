package dev.relaybroker.cloud;

/** The answer to the audited {@code takeover} or {@code recover}: same agent id, fresh token. */
public record TakeoverResult(String agentId, String name, String token, String auditId) {
  @Override
  public String toString() {
    return "TakeoverResult[agentId=" + agentId + ", name=" + name + ", auditId=" + auditId + "]";
  }
}
