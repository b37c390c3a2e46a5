package dev.relaybroker.config;

import io.vertx.codegen.annotations.DataObject;
import io.vertx.codegen.annotations.GenIgnore;
import io.vertx.codegen.json.annotations.JsonGen;
import io.vertx.core.json.JsonObject;

import java.util.List;

/** The local HTTP API on loopback TCP and the Unix socket (SPEC §3). */
@DataObject
@JsonGen(publicConverter = false)
public class LocalApiOptions {
  public static final String DEFAULT_BIND = "127.0.0.1";
  public static final int DEFAULT_PORT = 0;
  public static final int DEFAULT_MAX_BODY_BYTES = 64 * 1024;
  public static final int DEFAULT_IDLE_TIMEOUT_SECS = 30;
  public static final int DEFAULT_EVENT_BUFFER = 256;
  public static final int DEFAULT_HEADER_TIMEOUT_SECS = 10;
  public static final long DEFAULT_SESSION_WAIT_MS = 5000;

  private boolean enabled = true;
  private String bind = DEFAULT_BIND;
  private int port = DEFAULT_PORT;
  private boolean allowNonLoopback;
  private String apiKey;
  private boolean unixSocket = true;
  private int maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
  private int idleTimeoutSecs = DEFAULT_IDLE_TIMEOUT_SECS;
  private int eventBufferSize = DEFAULT_EVENT_BUFFER;
  private int headerTimeoutSecs = DEFAULT_HEADER_TIMEOUT_SECS;
  private long sessionWaitMs = DEFAULT_SESSION_WAIT_MS;

  public LocalApiOptions() {
  }

  public LocalApiOptions(JsonObject json) {
    LocalApiOptionsConverter.fromJson(json, this);
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    LocalApiOptionsConverter.toJson(this, json);
    return json;
  }

  void validate(List<String> problems) {
    if (port < 0 || port > 65535) {
      problems.add("api.port must be 0..65535, got " + port);
    }
    if (bind == null || bind.isBlank()) {
      problems.add("api.bind must be a host address such as 127.0.0.1");
    } else if (!isLoopback(bind) && !allowNonLoopback) {
      problems.add("api.bind " + bind + " is not a loopback address: the local API hands out the workspace key, "
        + "so it only listens on 127.0.0.1 unless you also pass --allow-non-loopback");
    }
    if (apiKey != null && apiKey.length() < 16) {
      problems.add("the broker API key (RELAY_BROKER_API_KEY) must be at least 16 characters");
    }
    if (maxBodyBytes < 1024) {
      problems.add("api.maxBodyBytes must be at least 1024, got " + maxBodyBytes);
    }
    if (idleTimeoutSecs < 1) {
      problems.add("api.idleTimeoutSecs must be at least 1, got " + idleTimeoutSecs);
    }
    if (headerTimeoutSecs < 1) {
      problems.add("api.headerTimeoutSecs must be at least 1, got " + headerTimeoutSecs);
    }
    if (sessionWaitMs < 0 || sessionWaitMs > 60_000) {
      problems.add("api.sessionWaitMs must be 0..60000, got " + sessionWaitMs);
    }
    if (eventBufferSize < 1 || eventBufferSize > 100_000) {
      problems.add("api.eventBufferSize must be 1..100000, got " + eventBufferSize);
    }
  }

  /** Whether the local API listens where only this machine reaches it. */
  @GenIgnore
  public boolean isLoopbackBind() {
    return bind != null && isLoopback(bind);
  }

  static boolean isLoopback(String host) {
    return host.equals("localhost") || host.equals("::1") || host.equals("[::1]") || host.startsWith("127.");
  }

  /** False: no local API at all (no port, no socket, no connection.json); an embedding application reads the bus. */
  public boolean isEnabled() { return enabled; }
  public LocalApiOptions setEnabled(boolean enabled) { this.enabled = enabled; return this; }
  public String getBind() { return bind; }
  public LocalApiOptions setBind(String bind) { this.bind = bind; return this; }
  public int getPort() { return port; }
  public LocalApiOptions setPort(int port) { this.port = port; return this; }
  public boolean isAllowNonLoopback() { return allowNonLoopback; }
  public LocalApiOptions setAllowNonLoopback(boolean v) { this.allowNonLoopback = v; return this; }
  /** Key clients present as X-API-Key or Bearer; null means a random br_… key is made at start. */
  public String getApiKey() { return apiKey; }
  public LocalApiOptions setApiKey(String apiKey) { this.apiKey = Json.blankToNull(apiKey); return this; }
  public boolean isUnixSocket() { return unixSocket; }
  public LocalApiOptions setUnixSocket(boolean unixSocket) { this.unixSocket = unixSocket; return this; }
  public int getMaxBodyBytes() { return maxBodyBytes; }
  public LocalApiOptions setMaxBodyBytes(int v) { this.maxBodyBytes = v; return this; }
  public int getIdleTimeoutSecs() { return idleTimeoutSecs; }
  public LocalApiOptions setIdleTimeoutSecs(int v) { this.idleTimeoutSecs = v; return this; }
  /**
   * A connection must deliver a complete request head within this time. The idle timeout alone cannot stop a
   * client that sends one byte per second, since every byte resets it.
   */
  public int getHeaderTimeoutSecs() { return headerTimeoutSecs; }
  public LocalApiOptions setHeaderTimeoutSecs(int v) { this.headerTimeoutSecs = v; return this; }
  /**
   * How long {@code GET /api/session} holds a request that came before the first session, waiting for it (or its
   * failure) instead of answering 503 at once; SDKs poll once a second, so this saves them up to a second.
   */
  public long getSessionWaitMs() { return sessionWaitMs; }
  public LocalApiOptions setSessionWaitMs(long v) { this.sessionWaitMs = v; return this; }
  /** How many broker events {@code /ws?sinceSeq=N} can replay. */
  public int getEventBufferSize() { return eventBufferSize; }
  public LocalApiOptions setEventBufferSize(int v) { this.eventBufferSize = v; return this; }
}
