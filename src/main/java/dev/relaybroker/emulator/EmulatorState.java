package dev.relaybroker.emulator;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The emulator's whole world: workspaces, their agents and the takeover audit trail. Only touched from the
 * emulator verticle's event loop, so it needs no locking.
 */
final class EmulatorState {
  private static final SecureRandom RANDOM = new SecureRandom();

  static final class Workspace {
    final String id;
    final String name;
    final String apiKey;
    final String createdAt;
    final Map<String, Agent> agents = new LinkedHashMap<>();
    /** Channels by name: {@code {id, name, topic, created_at}}. */
    final Map<String, JsonObject> channels = new LinkedHashMap<>();

    Workspace(String id, String name, String apiKey, String createdAt) {
      this.id = id;
      this.name = name;
      this.apiKey = apiKey;
      this.createdAt = createdAt;
    }
  }

  static final class Agent {
    final String id;
    final String name;
    final String type;
    final String createdAt;
    final JsonObject metadata;
    String token;
    String status = "offline";
    String lastSeen;
    /** The channels this agent has joined, by name, with when it joined. */
    final Map<String, String> channels = new LinkedHashMap<>();
    /** Channels this agent muted for itself ({@code POST /v1/channels/{name}/mute}). */
    final java.util.Set<String> mutedChannels = new java.util.LinkedHashSet<>();
    /** Every token this agent has had, with when it was valid (kept in the state file across restarts). */
    final List<JsonObject> tokenHistory = new ArrayList<>();
    /** Realtime events sent to this agent, kept for resync; {@code agent_seq} increases per agent. */
    final List<JsonObject> events = new ArrayList<>();
    long nextEventSeq = 1;

    Agent(String id, String name, String type, String createdAt, JsonObject metadata, String token) {
      this.id = id;
      this.name = name;
      this.type = type;
      this.createdAt = createdAt;
      this.metadata = metadata;
      this.token = token;
      issued(token);
    }

    void issued(String newToken) {
      tokenHistory.add(new JsonObject().put("token", newToken).put("fingerprint", fingerprint(newToken))
        .put("issued_at_ms", System.currentTimeMillis()));
      if (tokenHistory.size() > 10_000) {
        tokenHistory.remove(0);
      }
    }

    void revoked(String oldToken) {
      tokenHistory.stream().filter(t -> t.getString("token").equals(oldToken) && !t.containsKey("revoked_at_ms"))
        .forEach(t -> t.put("revoked_at_ms", System.currentTimeMillis()));
    }

    /**
     * The record as the current engine's GET returns it: {@link #leanRecord()} with each channel as a membership
     * object {@code {id, name, role, joined_at}} (relaycast crate {@code AgentChannelMembership}).
     */
    JsonObject recordWithMemberships(Map<String, JsonObject> workspaceChannels) {
      JsonArray memberships = new JsonArray();
      channels.forEach((channel, joinedAt) -> {
        JsonObject known = workspaceChannels.get(channel);
        memberships.add(new JsonObject()
          .put("id", known != null ? known.getString("id") : null)
          .put("name", channel)
          .put("role", "member")
          .put("joined_at", joinedAt));
      });
      return leanRecord().put("channels", memberships);
    }

    /** The record as the live cloud's GET returns it: no workspace_id, token_hash or created_at; channels by name. */
    JsonObject leanRecord() {
      return new JsonObject()
        .put("id", id)
        .put("name", name)
        .put("type", type)
        .put("status", status)
        .put("persona", null)
        .put("metadata", metadata.copy())
        .put("last_seen", lastSeen)
        .put("channels", new JsonArray(new ArrayList<>(channels.keySet())));
    }
  }

  /** Who a bearer token belongs to. */
  record TokenOwner(Workspace workspace, Agent agent) {
  }

  private final Map<String, Workspace> workspacesByKey = new LinkedHashMap<>();
  private final Map<String, TokenOwner> tokenOwners = new LinkedHashMap<>();
  private final List<JsonObject> audit = new ArrayList<>();

  Workspace workspaceByKey(String apiKey) {
    return apiKey == null ? null : workspacesByKey.get(apiKey);
  }

  boolean workspaceNameTaken(String name) {
    return workspacesByKey.values().stream().anyMatch(ws -> ws.name.equals(name));
  }

  Workspace createWorkspace(String name, String apiKey) {
    String key = apiKey != null ? apiKey : "rk_live_" + randomHex(16);
    Workspace workspace = new Workspace("ws_" + randomHex(6), name, key, now());
    workspacesByKey.put(key, workspace);
    return workspace;
  }

  Agent createAgent(Workspace workspace, String name, String type, JsonObject metadata) {
    Agent agent = new Agent("agt_" + randomHex(8), name, type, now(), metadata, newToken());
    workspace.agents.put(name, agent);
    tokenOwners.put(agent.token, new TokenOwner(workspace, agent));
    return agent;
  }

  TokenOwner tokenOwner(String token) {
    return token == null ? null : tokenOwners.get(token);
  }

  /** Deletes the agent; its token stops working at once and its name is free again. */
  void removeAgent(Workspace workspace, Agent agent) {
    workspace.agents.remove(agent.name);
    tokenOwners.remove(agent.token);
    agent.revoked(agent.token);
  }

  /** Gives the agent a fresh token; the old one stops working at once. */
  String rotateToken(Workspace workspace, Agent agent) {
    tokenOwners.remove(agent.token);
    agent.revoked(agent.token);
    agent.token = newToken();
    agent.issued(agent.token);
    tokenOwners.put(agent.token, new TokenOwner(workspace, agent));
    return agent.token;
  }

  JsonObject recordAudit(String action, Agent agent, JsonObject request) {
    JsonObject entry = new JsonObject()
      .put("audit_id", "aud_" + randomHex(8))
      .put("action", action)
      .put("agent_id", agent.id)
      .put("name", agent.name)
      .put("actor", request.getString("actor"))
      .put("reason", request.getString("reason"))
      .put("session_ref", request.getString("session_ref"))
      .put("node_id", request.getString("node_id"))
      .put("at", now());
    audit.add(entry);
    return entry;
  }

  List<JsonObject> audit() {
    return audit;
  }

  List<Workspace> workspaces() {
    return new ArrayList<>(workspacesByKey.values());
  }

  void clear() {
    workspacesByKey.clear();
    tokenOwners.clear();
    audit.clear();
  }

  /** The full state, tokens included, for the state file; never served on the cloud API. */
  JsonObject toJson() {
    JsonArray workspaces = new JsonArray();
    for (Workspace ws : workspacesByKey.values()) {
      JsonArray agents = new JsonArray();
      for (Agent agent : ws.agents.values()) {
        agents.add(new JsonObject()
          .put("id", agent.id).put("name", agent.name).put("type", agent.type)
          .put("created_at", agent.createdAt).put("metadata", agent.metadata)
          .put("token", agent.token).put("status", agent.status).put("last_seen", agent.lastSeen)
          .put("channels", new JsonArray(new ArrayList<>(agent.channels.keySet())))
          .put("channels_joined_at", new JsonObject(new LinkedHashMap<>(agent.channels)))
          .put("token_history", new JsonArray(agent.tokenHistory.stream().map(JsonObject::copy).toList())));
      }
      workspaces.add(new JsonObject()
        .put("id", ws.id).put("name", ws.name).put("api_key", ws.apiKey)
        .put("created_at", ws.createdAt).put("agents", agents)
        .put("channels", new JsonArray(ws.channels.values().stream().map(JsonObject::copy).toList())));
    }
    return new JsonObject().put("workspaces", workspaces).put("audit", new JsonArray(new ArrayList<>(audit)));
  }

  /**
   * Replaces the state with what a state file holds, entry by entry: an entry that is not what it should be (not an
   * object, a name, key or token missing) is skipped and counted, and every other one is loaded.
   *
   * @return how many entries were skipped
   */
  int loadFrom(JsonObject json) {
    clear();
    int skipped = 0;
    for (Object wsValue : array(json, "workspaces")) {
      if (!(wsValue instanceof JsonObject wsJson) || !hasText(wsJson, "id", "name", "api_key")) {
        skipped++;
        continue;
      }
      Workspace ws = new Workspace(wsJson.getString("id"), wsJson.getString("name"), wsJson.getString("api_key"),
        text(wsJson, "created_at", now()));
      workspacesByKey.put(ws.apiKey, ws);
      for (Object c : array(wsJson, "channels")) {
        if (c instanceof JsonObject channel && hasText(channel, "name")) {
          ws.channels.put(channel.getString("name"), channel);
        } else {
          skipped++;
        }
      }
      for (Object agentValue : array(wsJson, "agents")) {
        if (!(agentValue instanceof JsonObject a) || !hasText(a, "id", "name", "token")) {
          skipped++;
          continue;
        }
        String createdAt = text(a, "created_at", ws.createdAt);
        Agent agent = new Agent(a.getString("id"), a.getString("name"), text(a, "type", "agent"), createdAt,
          a.getValue("metadata") instanceof JsonObject metadata ? metadata : new JsonObject(), a.getString("token"));
        // Nobody is connected to a freshly started emulator.
        agent.status = "offline";
        agent.lastSeen = text(a, "last_seen", null);
        JsonObject joinedAt = a.getValue("channels_joined_at") instanceof JsonObject j ? j : new JsonObject();
        array(a, "channels").forEach(c -> agent.channels.put(String.valueOf(c), text(joinedAt, String.valueOf(c), createdAt)));
        List<JsonObject> history = array(a, "token_history").stream().filter(JsonObject.class::isInstance).map(JsonObject.class::cast).toList();
        if (!history.isEmpty()) {
          agent.tokenHistory.clear();
          agent.tokenHistory.addAll(history);
        }
        ws.agents.put(agent.name, agent);
        tokenOwners.put(agent.token, new TokenOwner(ws, agent));
      }
    }
    for (Object entry : array(json, "audit")) {
      if (entry instanceof JsonObject record) {
        audit.add(record);
      } else {
        skipped++;
      }
    }
    return skipped;
  }

  private static JsonArray array(JsonObject json, String key) {
    return json.getValue(key) instanceof JsonArray array ? array : new JsonArray();
  }

  private static boolean hasText(JsonObject json, String... keys) {
    for (String key : keys) {
      if (!(json.getValue(key) instanceof String value) || value.isEmpty()) {
        return false;
      }
    }
    return true;
  }

  private static String text(JsonObject json, String key, String otherwise) {
    return json.getValue(key) instanceof String value ? value : otherwise;
  }

  static String now() {
    return Instant.now().toString();
  }

  static String randomHex(int bytes) {
    byte[] buffer = new byte[bytes];
    RANDOM.nextBytes(buffer);
    return HexFormat.of().formatHex(buffer);
  }

  /** The same fingerprint the broker shows in {@code token_fingerprint}: SHA-256, first 16 hex digits. */
  static String fingerprint(String token) {
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(token.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String newToken() {
    return "at_live_" + randomHex(16);
  }
}
