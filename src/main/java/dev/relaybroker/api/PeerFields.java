package dev.relaybroker.api;

import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.Session;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The fields the published Rust broker 12.4.1 serves (protocol 2, measured against its binary), with this broker's
 * meaning where the meaning exists here: it spawns no workers and registers no node, so every worker count is 0,
 * {@code nodeConnected} is false and {@code node_token} is null. Same names, same JSON types, so a client of 12.4.1
 * reads this broker without a special case. The fields this broker adds are listed in docs/protocol.md.
 */
final class PeerFields {
  static final int PROTOCOL_VERSION = 2;
  /** What 12.4.1 serves while it knows no workspace id (the live cloud's register answer does not say it). */
  static final String UNKNOWN_WORKSPACE = "ws_unknown";

  private PeerFields() {
  }

  static String workspaceId(Session session) {
    return session != null && session.workspaceId() != null ? session.workspaceId() : UNKNOWN_WORKSPACE;
  }

  /** {@code [{is_default, workspace_id}]}: this broker serves one workspace. */
  static JsonArray memberships(Session session) {
    return new JsonArray().add(new JsonObject().put("is_default", true).put("workspace_id", workspaceId(session)));
  }

  /** Added to {@code GET /api/session} (and refresh) beside {@code protocol_version: 2}. */
  static JsonObject addToSession(JsonObject body, Session session) {
    return body
      .put("default_workspace_id", workspaceId(session))
      .put("node_id", nodeId(session))
      .put("node_name", session.agentName())
      .put("node_token", null)
      .put("operation_mode", "normal")
      .put("degraded", false)
      // What POST /api/spawn would honour: nothing, it answers 501 here.
      .put("spawn_capabilities", new JsonObject().put("create_only_identity", false).put("explicit_empty_channels", false));
  }

  /** Added to {@code GET /health}. */
  static JsonObject addToHealth(JsonObject body, SessionSnapshot snapshot, int localStreams) {
    Runtime runtime = Runtime.getRuntime();
    return body
      .put("agentCount", 0)
      .put("pendingDeliveryCount", 0)
      .put("deadLetterCount", 0)
      .put("nodeConnected", false)
      .put("nodeDelivery", new JsonObject().put("connected", false).put("tokenPresent", false))
      .put("wsConnections", localStreams)
      .put("memoryMb", (runtime.totalMemory() - runtime.freeMemory()) / (1024 * 1024))
      .put("workspaceId", workspaceId(snapshot.session()))
      .put("defaultWorkspaceId", workspaceId(snapshot.session()))
      .put("memberships", memberships(snapshot.session()));
  }

  /**
   * {@code POST /api/session/renew}: 12.4.1 answers {@code expires_in_secs} = its lease in ephemeral mode and 0 with
   * {@code persist: true} (no lease) in persist mode.
   */
  static JsonObject renewal(boolean persist, long leaseSecs) {
    return new JsonObject().put("renewed", true).put("expires_in_secs", persist ? 0 : leaseSecs).put("persist", persist);
  }

  /**
   * The presence a terminal broker reports: a failed or superseded broker holds no realtime connection and tries
   * none, so "connecting" (the presence it had while the flow still ran) would promise something that never comes.
   */
  static String presence(SessionSnapshot snapshot) {
    boolean terminal = snapshot.state() == SessionState.FAILED || snapshot.state() == SessionState.SUPERSEDED;
    if (terminal && snapshot.presence() == PresenceState.CONNECTING) {
      return PresenceState.OFFLINE.wireName();
    }
    return snapshot.presence().wireName();
  }

  /** Stable per agent: {@code node_} and 32 hex, the form 12.4.1's node ids take. */
  private static String nodeId(Session session) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(("node:" + session.agentId()).getBytes(StandardCharsets.UTF_8));
      return "node_" + HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
