package dev.relaybroker.cloud;

import io.vertx.core.json.JsonObject;

/** Body of {@code takeover}/{@code recover}; {@code expectedAgentId} guards against seizing a newer record. */
public record TakeoverRequest(String expectedAgentId, String actor, String reason, String sessionRef, String nodeId) {
  JsonObject toJson() {
    return new JsonObject()
      .put("expected_agent_id", expectedAgentId)
      .put("actor", actor)
      .put("reason", reason)
      .put("session_ref", sessionRef)
      .put("node_id", nodeId);
  }
}
