package dev.relaybroker.cloud;

/** The answer to {@code POST /v1/agents}; {@code workspaceId} may be null (the live cloud omits it). */
public record Registration(String id, String name, String token, String status, String workspaceId) {
  @Override
  public String toString() {
    return "Registration[id=" + id + ", name=" + name + "]";
  }
}
