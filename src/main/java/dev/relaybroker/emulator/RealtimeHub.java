package dev.relaybroker.emulator;

import dev.relaybroker.emulator.EmulatorState.Agent;
import io.vertx.core.Vertx;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * The agents' realtime WebSockets, which are what makes an agent "online": an agent is online exactly while a
 * connection opened with its current token is open. Answers pings and resyncs, delivers events, follows the
 * holder's own rollovers, and closes connections whose token someone else rotated (close code 4001), as the cloud
 * does. Used only from the emulator verticle's event loop.
 */
final class RealtimeHub {
  /** Close code for a connection whose token was rotated by someone else. */
  static final short TOKEN_INVALIDATED = 4001;

  private final Vertx vertx;
  private final List<Connection> connections = new ArrayList<>();

  RealtimeHub(Vertx vertx) {
    this.vertx = vertx;
  }

  /** One open connection and the token it holds. */
  private static final class Connection {
    final ServerWebSocket socket;
    final Agent agent;
    /** Follows the holder's own rollovers; a rotation by someone else closes the connection instead. */
    String token;
    final boolean mute;

    Connection(ServerWebSocket socket, Agent agent, String token, boolean mute) {
      this.socket = socket;
      this.agent = agent;
      this.token = token;
      this.mute = mute;
    }
  }

  /** Takes over an upgraded socket authenticated as {@code agent}; a DROP, MUTE or FREEZE fault shapes its life. */
  void accept(ServerWebSocket socket, Agent agent, FaultRule fault) {
    Connection connection = new Connection(socket, agent, agent.token, fault != null && fault.kind == FaultRule.Kind.MUTE);
    connections.add(connection);
    updatePresence(agent);
    socket.textMessageHandler(text -> onMessage(connection, text));
    socket.closeHandler(v -> {
      connections.remove(connection);
      updatePresence(agent);
    });
    if (fault != null && fault.kind == FaultRule.Kind.FREEZE) {
      // Nothing is read any more: no pongs, and a close frame is never answered.
      socket.pause();
    }
    if (fault != null && fault.kind == FaultRule.Kind.DROP) {
      // delay_ms 0 closes at once, so the close frame can reach the client in the same read as the handshake.
      if (fault.delayMs <= 0) {
        socket.close((short) 1011, "dropped by an injected fault");
      } else {
        vertx.setTimer(fault.delayMs, t -> socket.close((short) 1011, "dropped by an injected fault"));
      }
    }
  }

  /** A self-rollover: the holder's open connections stay valid under the new token. */
  void followRollover(String oldToken, String newToken) {
    connections.stream().filter(c -> c.token.equals(oldToken)).forEach(c -> c.token = newToken);
  }

  /** Someone else rotated the token: whoever still holds the old one is disconnected. */
  void closeHeldBy(String oldToken, String why) {
    for (Connection connection : new ArrayList<>(connections)) {
      if (connection.token.equals(oldToken)) {
        connection.socket.close(TOKEN_INVALIDATED, "token_invalidated: " + why);
      }
    }
  }

  /** Sends an event to the agent's current connections; returns how many got it. */
  long deliver(Agent agent, JsonObject event) {
    String encoded = event.encode();
    return connections.stream().filter(c -> c.agent == agent && c.token.equals(agent.token))
      .peek(c -> c.socket.writeTextMessage(encoded)).count();
  }

  void closeAll(String why) {
    new ArrayList<>(connections).forEach(c -> c.socket.close((short) 1001, why));
  }

  private void onMessage(Connection connection, String text) {
    JsonObject message;
    try {
      message = new JsonObject(text);
    } catch (DecodeException e) {
      connection.socket.writeTextMessage(new JsonObject().put("type", "error").put("code", "invalid_message").encode());
      return;
    }
    switch (String.valueOf(message.getValue("type"))) {
      case "ping" -> {
        if (!connection.mute) {
          connection.socket.writeTextMessage(new JsonObject().put("type", "pong").encode());
        }
      }
      case "resync" -> {
        long lastSeen = message.getValue("last_seen_seq") instanceof Number n ? n.longValue() : 0;
        JsonArray missed = new JsonArray();
        connection.agent.events.stream().filter(e -> e.getLong("agent_seq") > lastSeen).forEach(missed::add);
        connection.socket.writeTextMessage(new JsonObject().put("type", "resync_ack").put("last_seen_seq", lastSeen)
          .put("current_seq", connection.agent.nextEventSeq - 1).put("events", missed).encode());
      }
      default -> connection.socket.writeTextMessage(new JsonObject().put("type", "error").put("code", "unknown_type").encode());
    }
  }

  private void updatePresence(Agent agent) {
    boolean connected = connections.stream().anyMatch(c -> c.agent == agent && c.token.equals(agent.token));
    agent.status = connected ? "online" : "offline";
    agent.lastSeen = EmulatorState.now();
  }
}
