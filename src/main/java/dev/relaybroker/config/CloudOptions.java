package dev.relaybroker.config;

import io.vertx.codegen.annotations.DataObject;
import io.vertx.codegen.annotations.GenIgnore;
import io.vertx.codegen.json.annotations.JsonGen;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.List;

/** Where the Relaycast cloud is and how patiently to talk to it. */
@DataObject
@JsonGen(publicConverter = false)
public class CloudOptions {
  /** The public Relaycast cloud: where a workspace key given without a base URL goes (upstream's default too). */
  public static final String DEFAULT_BASE_URL = "https://cast.agentrelay.com";
  /**
   * A JVM flag that replaces {@link #DEFAULT_BASE_URL}, for tests only: a process test proves "a key alone works"
   * against a loopback emulator, and no test ever contacts the public cloud. Not an environment variable, so the
   * environment that carries the key cannot also redirect it.
   */
  public static final String DEFAULT_BASE_URL_PROPERTY = "relay.broker.defaultBaseUrl";
  public static final long DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
  public static final int DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
  public static final long DEFAULT_RETRY_INITIAL_DELAY_MS = 500;
  public static final long DEFAULT_RETRY_MAX_DELAY_MS = 30_000;
  public static final int DEFAULT_RETRY_MAX_ATTEMPTS = 10;

  private String baseUrl;
  private String workspaceKey;
  private long requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  private int connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
  private long retryInitialDelayMs = DEFAULT_RETRY_INITIAL_DELAY_MS;
  private long retryMaxDelayMs = DEFAULT_RETRY_MAX_DELAY_MS;
  private int retryMaxAttempts = DEFAULT_RETRY_MAX_ATTEMPTS;
  private long maxResponseBytes = dev.relaybroker.cloud.BoundedExchange.DEFAULT_MAX_RESPONSE_BYTES;
  private boolean allowInsecureHttp;
  /** Where the key came from, for messages ("RELAY_API_KEY", "--workspace-key"); not part of the config shape. */
  private String workspaceKeySource = "cloud.workspaceKey";
  /** Where the base URL came from, for the start-up line; not part of the config shape. */
  private String baseUrlSource = "cloud.baseUrl";

  public CloudOptions() {
  }

  public CloudOptions(CloudOptions other) {
    this(other.toJson());
    this.workspaceKeySource = other.workspaceKeySource;
    this.baseUrlSource = other.baseUrlSource;
  }

  public CloudOptions(JsonObject json) {
    CloudOptionsConverter.fromJson(json, this);
  }

  /** All fields, the workspace key included: for round trips in memory, never for a log line. */
  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    CloudOptionsConverter.toJson(this, json);
    return json;
  }

  /** Where the workspace key came from, named in a "workspace key rejected" message so the user knows what to fix. */
  @GenIgnore
  public String getWorkspaceKeySource() { return workspaceKeySource; }
  @GenIgnore
  public CloudOptions setWorkspaceKeySource(String source) { this.workspaceKeySource = source; return this; }
  /** Where the base URL came from ({@code RELAYCAST_BASE_URL}, {@code default …}), said in the start-up log. */
  @GenIgnore
  public String getBaseUrlSource() { return baseUrlSource; }
  @GenIgnore
  public CloudOptions setBaseUrlSource(String source) { this.baseUrlSource = source; return this; }

  /** The URL to use: the one set, else the public cloud when a key is set, else null (no cloud configured). */
  public String effectiveBaseUrl() {
    return baseUrl != null ? baseUrl : workspaceKey != null ? defaultBaseUrl() : null;
  }

  /** {@link #DEFAULT_BASE_URL}, unless a test replaced it (see {@link #DEFAULT_BASE_URL_PROPERTY}). */
  public static String defaultBaseUrl() {
    return System.getProperty(DEFAULT_BASE_URL_PROPERTY, DEFAULT_BASE_URL);
  }

  void validate(List<String> problems) {
    if (baseUrl != null) {
      try {
        URI uri = new URI(baseUrl);
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
          problems.add("cloud.baseUrl must be an http(s) URL such as https://api.relaycast.dev, got '" + baseUrl + "'");
        }
      } catch (Exception e) {
        problems.add("cloud.baseUrl is not a URL: '" + baseUrl + "'");
      }
    }
    if (workspaceKey != null && !allowInsecureHttp && sendsKeyInTheClear()) {
      problems.add("cloud.baseUrl " + baseUrl + " is plain http:// to a host other than this machine: the workspace key "
        + "would cross the network unencrypted; use https://, or pass --allow-insecure-cloud (cloud.allowInsecureHttp) "
        + "if that network is yours");
    }
    if (workspaceKey != null && !workspaceKey.startsWith("rk_")) {
      // Never echo the value: it may be a real secret pasted into the wrong place.
      problems.add("workspace key must start with rk_ (rk_live_… or rk_test_…); the value given in " + workspaceKeySource + " does not");
    }
    if (requestTimeoutMs < 100) {
      problems.add("cloud.requestTimeoutMs must be at least 100, got " + requestTimeoutMs);
    }
    if (connectTimeoutMs < 100) {
      problems.add("cloud.connectTimeoutMs must be at least 100, got " + connectTimeoutMs);
    }
    if (retryInitialDelayMs < 1) {
      problems.add("cloud.retryInitialDelayMs must be at least 1, got " + retryInitialDelayMs);
    }
    if (retryMaxDelayMs < retryInitialDelayMs) {
      problems.add("cloud.retryMaxDelayMs must be at least cloud.retryInitialDelayMs, got " + retryMaxDelayMs);
    }
    if (retryMaxAttempts < 1) {
      problems.add("cloud.retryMaxAttempts must be at least 1, got " + retryMaxAttempts);
    }
  }

  /** An {@code http://} URL whose host is not loopback (the emulator and tests on this machine stay allowed). */
  private boolean sendsKeyInTheClear() {
    try {
      URI uri = new URI(baseUrl);
      return "http".equals(uri.getScheme()) && uri.getHost() != null && !LocalApiOptions.isLoopback(uri.getHost());
    } catch (Exception e) {
      return false; // reported as not a URL
    }
  }

  /** Base URL of the cloud; null means "not configured" (the embedded emulator when no key is given either). */
  public String getBaseUrl() { return baseUrl; }
  public CloudOptions setBaseUrl(String baseUrl) { this.baseUrl = Json.blankToNull(baseUrl); return this; }
  public String getWorkspaceKey() { return workspaceKey; }
  public CloudOptions setWorkspaceKey(String workspaceKey) { this.workspaceKey = Json.blankToNull(workspaceKey); return this; }
  /** Whole-response timeout of one cloud call. */
  public long getRequestTimeoutMs() { return requestTimeoutMs; }
  public CloudOptions setRequestTimeoutMs(long requestTimeoutMs) { this.requestTimeoutMs = requestTimeoutMs; return this; }
  public int getConnectTimeoutMs() { return connectTimeoutMs; }
  public CloudOptions setConnectTimeoutMs(int connectTimeoutMs) { this.connectTimeoutMs = connectTimeoutMs; return this; }
  /** First backoff delay; it doubles per attempt up to {@link #getRetryMaxDelayMs()}, with jitter. */
  public long getRetryInitialDelayMs() { return retryInitialDelayMs; }
  public CloudOptions setRetryInitialDelayMs(long v) { this.retryInitialDelayMs = v; return this; }
  public long getRetryMaxDelayMs() { return retryMaxDelayMs; }
  public CloudOptions setRetryMaxDelayMs(long v) { this.retryMaxDelayMs = v; return this; }
  /** Attempts per cloud call in ephemeral mode; persist mode retries transient errors forever. */
  public int getRetryMaxAttempts() { return retryMaxAttempts; }
  public CloudOptions setRetryMaxAttempts(int v) { this.retryMaxAttempts = v; return this; }
  /** Largest cloud answer read, enforced while it streams in; a larger one is a retryable failure. */
  public long getMaxResponseBytes() { return maxResponseBytes; }
  public CloudOptions setMaxResponseBytes(long v) { this.maxResponseBytes = v; return this; }
  /** True: a workspace key may go over plain http:// to a host that is not this machine ({@code --allow-insecure-cloud}). */
  public boolean isAllowInsecureHttp() { return allowInsecureHttp; }
  public CloudOptions setAllowInsecureHttp(boolean allowInsecureHttp) { this.allowInsecureHttp = allowInsecureHttp; return this; }
}
