package dev.relaybroker.cloud;

/** The answer to {@code POST /v1/workspaces}. */
public record CreatedWorkspace(String workspaceId, String apiKey) {
  @Override
  public String toString() {
    return "CreatedWorkspace[workspaceId=" + workspaceId + "]";
  }
}
