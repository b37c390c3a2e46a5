package dev.relaybroker.cloud;

import dev.relaybroker.identity.IdentityProof;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent record in both engine generations' shapes: channels as names (legacy, and the live cloud seen earlier)
 * and as membership objects {@code {id, name, role, joined_at}} (the current engine, which 12.4.1 requires). This
 * broker reads neither list, so both decode, and a record's proof is found in either field.
 */
class RecordShapesTest {
  private static JsonObject record(Object channels, JsonObject metadata) {
    return new JsonObject().put("id", "agt_1").put("name", "alpha").put("type", "agent").put("status", "online")
      .put("persona", null).put("metadata", metadata).put("last_seen", null).put("channels", channels);
  }

  @Test
  void recordsWithMembershipObjectsAndWithNamesBothDecode() {
    JsonArray memberships = new JsonArray().add(new JsonObject().put("id", "ch_1").put("name", "general")
      .put("role", "member").put("joined_at", "2026-01-01T00:00:00Z"));
    JsonArray names = new JsonArray().add("general");

    for (Object channels : new Object[] {memberships, names, null, "general"}) {
      AgentRecord decoded = RelaycastClient.agentRecord(record(channels, new JsonObject()), "alpha");

      assertThat(decoded.id()).as("channels %s", channels).isEqualTo("agt_1");
      assertThat(decoded.isLive()).isTrue();
    }
  }

  @Test
  void theProofIsReadFromTwelveFourOnesFieldAndFromTheEarlierOne() {
    AgentRecord rusts = RelaycastClient.agentRecord(record(new JsonArray(), new JsonObject().put("identity_key", "a".repeat(64))), "alpha");
    AgentRecord earlier = RelaycastClient.agentRecord(record(new JsonArray(), new JsonObject().put("relay_broker_identity", "b".repeat(64))), "alpha");
    AgentRecord none = RelaycastClient.agentRecord(record(new JsonArray(), null), "alpha");

    assertThat(IdentityProof.proofOf(rusts)).isEqualTo("a".repeat(64));
    assertThat(IdentityProof.proofOf(earlier)).isEqualTo("b".repeat(64));
    assertThat(IdentityProof.proofOf(none)).isNull();
  }
}
