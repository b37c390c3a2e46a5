package dev.relaybroker.bus;

import io.vertx.core.json.JsonObject;

/**
 * What presence saw when the cloud refused the agent's token, in its own words: which agent and token, why it
 * thinks so, and what the agent's record said (if it was read). Identity alone decides what it means (a takeover,
 * a stale notice, our own reclaim landing late) and writes the sentence a person reads ({@link #account()}).
 * Travels on {@code relay.identity.superseded} as JSON.
 *
 * @param agentId  the agent the refused token belonged to
 * @param token    the refused token (local bus only; never logged)
 * @param why      what presence saw ("the cloud closed the connection: token_invalidated …")
 * @param record   what the record read said; {@link Record#NOT_READ} when presence has not read it (yet)
 * @param holderId the agent id the name belongs to now, for {@link Record#OTHER_AGENT}; else null
 * @param provisional presence reads the record next and sends a more precise fact: say nothing in the log yet
 */
public record TakeoverFact(String agentId, String agentName, String token, String why, Record record, String holderId,
                           boolean provisional) {

  /** The agent's record as presence read it after the refusal. */
  public enum Record {
    /** Not read (yet), or unreadable: who holds the agent now is unknown. */
    NOT_READ,
    /** The record names this agent and is not live. */
    SAME_AGENT,
    /** The record names this agent and is live: another installation is connected with it now. */
    SAME_AGENT_LIVE,
    /** The name now belongs to another agent id. */
    OTHER_AGENT,
    /** The agent is gone from the workspace. */
    REMOVED
  }

  /** What a person reads: who holds the agent now, as far as the record says, and what to do about it. */
  public String account() {
    String takeBack = "Start with another --name, or restart with --reclaim always to take it back";
    String holder = switch (record) {
      case NOT_READ, SAME_AGENT -> "agent '" + agentName + "' was taken over by another installation";
      case SAME_AGENT_LIVE -> "agent '" + agentName + "' was taken over by another installation, where it is live now";
      case OTHER_AGENT -> "agent '" + agentName + "' now names another agent (" + holderId + ")";
      case REMOVED -> "agent '" + agentName + "' was removed from the workspace";
    };
    if (record == Record.REMOVED) {
      takeBack = "Restart the broker to register the name again";
    }
    return holder + " (" + why + "); this broker no longer uses it. " + takeBack;
  }

  public JsonObject toJson() {
    return new JsonObject().put("agentId", agentId).put("agentName", agentName).put("token", token).put("why", why)
      .put("record", record.name()).put("holderId", holderId).put("provisional", provisional);
  }

  public static TakeoverFact fromJson(JsonObject json) {
    return new TakeoverFact(json.getString("agentId"), json.getString("agentName"), json.getString("token"),
      json.getString("why"), Record.valueOf(json.getString("record", Record.NOT_READ.name())), json.getString("holderId"),
      json.getBoolean("provisional", false));
  }

  /** Never prints the token. */
  @Override
  public String toString() {
    return "TakeoverFact[agent=" + agentId + ", record=" + record + ", why=" + why + "]";
  }
}
