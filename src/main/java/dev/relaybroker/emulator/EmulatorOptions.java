package dev.relaybroker.emulator;

import io.vertx.codegen.annotations.DataObject;
import io.vertx.codegen.annotations.GenIgnore;
import io.vertx.codegen.json.annotations.JsonGen;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * Options of the Relaycast cloud emulator, in the shape of Vert.x's own options classes: defaults in the
 * no-arg constructor, a JSON constructor, {@link #toJson()} (both through the converter Vert.x codegen generates)
 * and a validation that lists every problem.
 */
@DataObject
@JsonGen(publicConverter = false)
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
    EmulatorOptionsConverter.fromJson(json, this);
    // The engine travels by its wire name (legacy, current); the generated converter would read and write the Java
    // name (LEGACY, CURRENT), so it is kept out of the converter (@GenIgnore below) and converted here.
    if (json.getValue("engine") instanceof String wire) {
      engine = Engine.parse(wire);
    }
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    EmulatorOptionsConverter.toJson(this, json);
    return json.put("engine", engine.wireName());
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
  @GenIgnore
  public Engine getEngine() { return engine; }
  @GenIgnore
  public EmulatorOptions setEngine(Engine engine) { this.engine = engine; return this; }
  /** A JSON file that keeps the emulator's workspaces and agents across restarts; null keeps them in memory. */
  public String getStateFile() { return stateFile; }
  public EmulatorOptions setStateFile(String stateFile) { this.stateFile = stateFile; return this; }
  public int getMaxBodyBytes() { return maxBodyBytes; }
  public EmulatorOptions setMaxBodyBytes(int maxBodyBytes) { this.maxBodyBytes = maxBodyBytes; return this; }
}
