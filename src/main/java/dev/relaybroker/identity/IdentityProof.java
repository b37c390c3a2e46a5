package dev.relaybroker.identity;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.cloud.AgentRecord;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * The proof of ownership a registration leaves in the agent's record, in the published broker's words so that a Rust
 * broker (12.4.1) and this one recognise each other's records in one workspace: {@code metadata.identity_key} is the
 * SHA-256 hex of the identity key (upstream v11.4.2, PR #1438; measured against the 12.4.1 binary: key {@code abc}
 * registers {@code ba7816bf…15ad}). Records written by earlier versions of this broker carry the same hash as
 * {@code relay_broker_identity}; they stay ours.
 */
public final class IdentityProof {
  /** The field 12.4.1 writes and compares. */
  public static final String IDENTITY_KEY = "identity_key";
  /** The field earlier versions of this broker wrote; still read, and still written for them. */
  public static final String LEGACY_FIELD = "relay_broker_identity";

  private final IdentitySecret secret;

  public IdentityProof(IdentitySecret secret) {
    this.secret = secret;
  }

  /** The metadata of a registration: the proof under both names, and which broker wrote it. */
  public JsonObject registrationMetadata() {
    return new JsonObject()
      .put(IDENTITY_KEY, secret.hash())
      .put(LEGACY_FIELD, secret.hash())
      .put("relay_broker_version", BrokerVersion.VERSION);
  }

  /** The proof a record carries, whichever broker wrote it; null when it carries none. */
  public static String proofOf(AgentRecord record) {
    JsonObject metadata = record.metadata();
    if (metadata == null) {
      return null;
    }
    if (metadata.getValue(IDENTITY_KEY) instanceof String proof && !proof.isBlank()) {
      return proof;
    }
    return metadata.getValue(LEGACY_FIELD) instanceof String proof && !proof.isBlank() ? proof : null;
  }

  /** True when the record was registered with this broker's identity key. */
  public boolean proves(AgentRecord record) {
    return secret.hash().equals(proofOf(record));
  }

  /**
   * A reclaim policy's refusal of a record that carries another owner's proof is what 12.4.1 calls it,
   * {@code agent_identity_mismatch}, so both brokers refuse each other's records with one code. The policy's
   * message stays (it says what to do); a refusal of a record without an {@code identity_key} (none, or only the
   * field of earlier versions of this broker) keeps its own code.
   */
  public Future<AgentRecord> refusalOf(Throwable refusal, AgentRecord record) {
    BrokerFailure failure = BrokerFailure.of(refusal);
    String foreign = record.metadata() != null && record.metadata().getValue(IDENTITY_KEY) instanceof String key ? key : null;
    if (foreign == null || proves(record) || failure.retryable()
      || !(failure.is(FailureCause.AGENT_LIVE_ELSEWHERE) || failure.is(FailureCause.AGENT_NAME_CONFLICT))) {
      return Future.failedFuture(refusal);
    }
    return Future.failedFuture(BrokerFailure.refusal(FailureCause.AGENT_IDENTITY_MISMATCH, failure.getMessage()
      + " (the record's identity_key " + foreign.substring(0, Math.min(8, foreign.length())) + "… is not this broker's "
      + "identity; brokers given the same " + IdentitySecret.ENV_KEY + " are one owner and reclaim each other's records)"));
  }
}
