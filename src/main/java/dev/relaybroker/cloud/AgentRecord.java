package dev.relaybroker.cloud;

import io.vertx.core.json.JsonObject;

import java.util.Locale;

/**
 * An existing agent as {@code GET /v1/agents/{name}} returns it. Decoded leniently: the live cloud omits
 * {@code workspace_id}, {@code token_hash} and {@code created_at}, so only {@code id} is required.
 */
public record AgentRecord(String id, String name, String status, JsonObject metadata) {

  /** {@code online} and {@code active} mean connected now; {@code offline} or absent do not. */
  public boolean isLive() {
    if (status == null) {
      return false;
    }
    String normalized = status.trim().toLowerCase(Locale.ROOT);
    return normalized.equals("online") || normalized.equals("active");
  }

  /** The identity hash an installation of relay-broker put in the metadata when it registered, if any. */
  public String brokerIdentity() {
    return metadata != null && metadata.getValue("relay_broker_identity") instanceof String s ? s : null;
  }
}
