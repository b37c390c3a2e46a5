package dev.relaybroker.config;

import io.vertx.codegen.annotations.DataObject;
import io.vertx.codegen.json.annotations.JsonGen;
import io.vertx.core.json.JsonObject;

import java.util.List;

/** The agent's realtime connection, which is what makes the cloud see the agent as live. */
@DataObject
@JsonGen(publicConverter = false)
public class PresenceOptions {
  public static final long DEFAULT_PING_INTERVAL_MS = 30_000;
  public static final long DEFAULT_RECONNECT_INITIAL_DELAY_MS = 1_000;
  public static final long DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000;
  public static final int DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

  private boolean enabled = true;
  private long pingIntervalMs = DEFAULT_PING_INTERVAL_MS;
  private long reconnectInitialDelayMs = DEFAULT_RECONNECT_INITIAL_DELAY_MS;
  private long reconnectMaxDelayMs = DEFAULT_RECONNECT_MAX_DELAY_MS;
  private int connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;

  public PresenceOptions() {
  }

  public PresenceOptions(JsonObject json) {
    PresenceOptionsConverter.fromJson(json, this);
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    PresenceOptionsConverter.toJson(this, json);
    return json;
  }

  void validate(List<String> problems) {
    if (pingIntervalMs < 10) {
      problems.add("presence.pingIntervalMs must be at least 10, got " + pingIntervalMs);
    }
    if (reconnectInitialDelayMs < 1 || reconnectMaxDelayMs < reconnectInitialDelayMs) {
      problems.add("presence.reconnectInitialDelayMs must be at least 1 and at most presence.reconnectMaxDelayMs");
    }
    if (connectTimeoutMs < 100) {
      problems.add("presence.connectTimeoutMs must be at least 100, got " + connectTimeoutMs);
    }
  }

  /** Hold the realtime connection; without it a running broker looks offline and can be taken over. */
  public boolean isEnabled() { return enabled; }
  public PresenceOptions setEnabled(boolean enabled) { this.enabled = enabled; return this; }
  /** The client pings this often; a ping unanswered by the next one means the connection is dead. */
  public long getPingIntervalMs() { return pingIntervalMs; }
  public PresenceOptions setPingIntervalMs(long v) { this.pingIntervalMs = v; return this; }
  public long getReconnectInitialDelayMs() { return reconnectInitialDelayMs; }
  public PresenceOptions setReconnectInitialDelayMs(long v) { this.reconnectInitialDelayMs = v; return this; }
  public long getReconnectMaxDelayMs() { return reconnectMaxDelayMs; }
  public PresenceOptions setReconnectMaxDelayMs(long v) { this.reconnectMaxDelayMs = v; return this; }
  public int getConnectTimeoutMs() { return connectTimeoutMs; }
  public PresenceOptions setConnectTimeoutMs(int v) { this.connectTimeoutMs = v; return this; }
}
