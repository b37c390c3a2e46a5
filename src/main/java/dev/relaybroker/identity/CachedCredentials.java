package dev.relaybroker.identity;

import io.vertx.core.json.JsonObject;

/**
 * What {@code <state>/credentials.json} holds: the last identity this installation resolved.
 * {@code requestedName} is the name asked for, {@code agentName} the one granted (they differ after a
 * non-strict suffix retry).
 */
public record CachedCredentials(String baseUrl, String workspaceId, String workspaceKey, String agentId,
                                String agentName, String requestedName, String agentToken, String updatedAt,
                                boolean superseded) {

  public CachedCredentials(String baseUrl, String workspaceId, String workspaceKey, String agentId, String agentName,
                           String requestedName, String agentToken, String updatedAt) {
    this(baseUrl, workspaceId, workspaceKey, agentId, agentName, requestedName, agentToken, updatedAt, false);
  }

  /**
   * The same identity, marked as taken over by another installation: its token is dead, and the agent must not
   * count as this installation's own any more (or every restart would take it back: a ping-pong).
   */
  public CachedCredentials asSuperseded() {
    return new CachedCredentials(baseUrl, workspaceId, workspaceKey, agentId, agentName, requestedName, null, updatedAt, true);
  }

  /** The cache only speaks for the same cloud, workspace key and name. */
  public boolean isFor(String expectedBaseUrl, String expectedKey, String expectedName) {
    return agentToken != null && agentId != null
      && expectedBaseUrl.equals(baseUrl)
      && expectedKey != null && expectedKey.equals(workspaceKey)
      && expectedName.equals(requestedName != null ? requestedName : agentName);
  }

  public JsonObject toJson() {
    return new JsonObject()
      .put("base_url", baseUrl)
      .put("workspace_id", workspaceId)
      .put("workspace_key", workspaceKey)
      .put("agent_id", agentId)
      .put("agent_name", agentName)
      .put("requested_name", requestedName)
      .put("agent_token", agentToken)
      .put("updated_at", updatedAt)
      .put("superseded", superseded);
  }

  /** Lenient: any field may be missing; a cache that lacks the token simply never matches. */
  public static CachedCredentials fromJson(JsonObject json) {
    return new CachedCredentials(str(json, "base_url"), str(json, "workspace_id"), str(json, "workspace_key"),
      str(json, "agent_id"), str(json, "agent_name"), str(json, "requested_name"), str(json, "agent_token"),
      str(json, "updated_at"), Boolean.TRUE.equals(json.getValue("superseded")));
  }

  private static String str(JsonObject json, String field) {
    return json.getValue(field) instanceof String s ? s : null;
  }

  @Override
  public String toString() {
    return "CachedCredentials[agent=" + agentName + ", id=" + agentId + ", baseUrl=" + baseUrl + "]";
  }
}
