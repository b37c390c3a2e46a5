package dev.relaybroker.session;

import dev.relaybroker.bus.Secrets;

import io.vertx.core.json.JsonObject;

/**
 * A resolved identity: what {@link Addresses#SESSION_RESOLVED} carries (local only, since it holds the token).
 * The SPEC's fields come first; {@code workspaceKey} and {@code baseUrl} are extra fields the local API needs
 * to answer {@code GET /api/session}.
 */
public record Session(String workspaceId, String agentId, String agentName, String token, String mode,
                      String resolvedAt, String workspaceKey, String baseUrl) {

  public JsonObject toJson() {
    return new JsonObject()
      .put("workspaceId", workspaceId)
      .put("agentId", agentId)
      .put("agentName", agentName)
      .put("token", token)
      .put("mode", mode)
      .put("resolvedAt", resolvedAt)
      .put("workspaceKey", workspaceKey)
      .put("baseUrl", baseUrl);
  }

  public static Session fromJson(JsonObject json) {
    return new Session(json.getString("workspaceId"), json.getString("agentId"), json.getString("agentName"),
      json.getString("token"), json.getString("mode"), json.getString("resolvedAt"),
      json.getString("workspaceKey"), json.getString("baseUrl"));
  }

  /** Never prints the token or the key: records end up in log lines by accident. */
  @Override
  public String toString() {
    return "Session[agent=" + agentName + ", id=" + agentId + ", workspace=" + workspaceId + ", token=" + Secrets.prefix(token) + "]";
  }
}
