package dev.relaybroker.emulator;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * Options of the Relaycast cloud emulator, in the shape of Vert.x's own options classes: defaults in the
 * no-arg constructor, a JSON constructor, {@link #toJson()} and a validation that lists every problem.
 */
public class EmulatorOptions {
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 0;
  public static final Engine DEFAULT_ENGINE = Engine.CURRENT;
  public static final int DEFAULT_MAX_BODY_BYTES = 64 * 1024;

  private String host = DEFAULT_HOST;
  private int port = DEFAULT_PORT;
  private Engine engine = DEFAULT_ENGINE;
  private String stateFile;
  private int maxBodyBytes = DEFAULT_MAX_BODY_BYTES;

  public EmulatorOptions() {
  }

  public EmulatorOptions(JsonObject json) {
    host = json.getString("host", DEFAULT_HOST);
    port = json.getInteger("port", DEFAULT_PORT);
    engine = json.containsKey("engine") ? Engine.parse(json.getString("engine")) : DEFAULT_ENGINE;
    stateFile = json.getString("stateFile");
    maxBodyBytes = json.getInteger("maxBodyBytes", DEFAULT_MAX_BODY_BYTES);
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject()
      .put("host", host)
      .put("port", port)
      .put("engine", engine.wireName())
      .put("maxBodyBytes", maxBodyBytes);
    if (stateFile != null) {
      json.put("stateFile", stateFile);
    }
    return json;
  }

  /** Every problem with these options, empty when they are usable. */
  public List<String> validate() {
    List<String> problems = new ArrayList<>();
    if (port < 0 || port > 65535) {
      problems.add("emulator port must be 0..65535, got " + port);
    }
    if (maxBodyBytes < 1024) {
      problems.add("emulator maxBodyBytes must be at least 1024, got " + maxBodyBytes);
    }
    return problems;
  }

  public String getHost() { return host; }
  public EmulatorOptions setHost(String host) { this.host = host; return this; }
  public int getPort() { return port; }
  public EmulatorOptions setPort(int port) { this.port = port; return this; }
  public Engine getEngine() { return engine; }
  public EmulatorOptions setEngine(Engine engine) { this.engine = engine; return this; }
  /** A JSON file that keeps the emulator's workspaces and agents across restarts; null keeps them in memory. */
  public String getStateFile() { return stateFile; }
  public EmulatorOptions setStateFile(String stateFile) { this.stateFile = stateFile; return this; }
  public int getMaxBodyBytes() { return maxBodyBytes; }
  public EmulatorOptions setMaxBodyBytes(int maxBodyBytes) { this.maxBodyBytes = maxBodyBytes; return this; }
}
