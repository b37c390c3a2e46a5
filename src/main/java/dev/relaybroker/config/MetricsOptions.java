package dev.relaybroker.config;

import io.vertx.codegen.annotations.DataObject;
import io.vertx.codegen.json.annotations.JsonGen;
import io.vertx.core.json.JsonObject;

/** The broker's Prometheus metrics on {@code GET /metrics} (SPEC §3). */
@DataObject
@JsonGen(publicConverter = false)
public class MetricsOptions {
  private boolean enabled = true;

  public MetricsOptions() {
  }

  public MetricsOptions(JsonObject json) {
    MetricsOptionsConverter.fromJson(json, this);
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    MetricsOptionsConverter.toJson(this, json);
    return json;
  }

  /** False: no meters are kept and {@code /metrics} answers 404. */
  public boolean isEnabled() { return enabled; }
  public MetricsOptions setEnabled(boolean enabled) { this.enabled = enabled; return this; }
}
