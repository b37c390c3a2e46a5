package dev.relaybroker.support;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.BrokerApplication;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.config.PresenceOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * One broker in its own Vert.x instance: a "machine". Two machines in one test are two installations that
 * share nothing but the emulator, exactly as two laptops sharing a workspace.
 */
public final class Machine implements AutoCloseable {
  private final Vertx vertx;
  private final BrokerApplication app;
  private final List<JsonObject> states;
  private final List<JsonObject> presence;
  private final List<JsonObject> resolved;

  private Machine(Vertx vertx, BrokerApplication app, List<JsonObject> states, List<JsonObject> presence, List<JsonObject> resolved) {
    this.vertx = vertx;
    this.app = app;
    this.states = states;
    this.presence = presence;
    this.resolved = resolved;
  }

  /** Options for a broker against the emulator, with backoff shortened so retries take milliseconds. */
  public static BrokerOptions options(EmulatorDriver emulator, String workspaceKey, String name, Path stateDir) {
    return new BrokerOptions()
      .setName(name)
      .setStateDir(stateDir.toString())
      // No channels unless a test asks: the request-log assertions are about the identity flow.
      .setChannels(java.util.List.of())
      .setCloud(new CloudOptions()
        .setBaseUrl(emulator.baseUrl())
        .setWorkspaceKey(workspaceKey)
        .setRequestTimeoutMs(1500)
        .setRetryInitialDelayMs(10)
        .setRetryMaxDelayMs(80))
      .setPresence(new PresenceOptions()
        .setPingIntervalMs(500)
        .setReconnectInitialDelayMs(50)
        .setReconnectMaxDelayMs(400)
        .setConnectTimeoutMs(1000));
  }

  public static Machine start(BrokerOptions options) {
    Vertx vertx = Vertx.vertx(TestVertx.options());
    List<JsonObject> states = new CopyOnWriteArrayList<>();
    List<JsonObject> presence = new CopyOnWriteArrayList<>();
    List<JsonObject> resolved = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.SESSION_STATE, m -> states.add(m.body()));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.SESSION_RESOLVED, m -> resolved.add(m.body()));
    vertx.eventBus().<JsonObject>consumer(Addresses.PRESENCE_STATE, m -> presence.add(m.body()));
    BrokerApplication app;
    try {
      app = await(BrokerApplication.start(vertx, options));
    } catch (RuntimeException e) {
      await(vertx.close());
      throw e;
    }
    return new Machine(vertx, app, states, presence, resolved);
  }

  /** Waits for a ready state and returns the session from relay.session.get. */
  public JsonObject awaitReady() {
    Await.until("state ready", () -> lastState().filter(s -> s.equals("ready")).isPresent()
      || lastState().filter(s -> s.equals("failed")).isPresent());
    if (lastState().orElse("").equals("failed")) {
      throw new AssertionError("expected ready, broker failed: " + lastStateEvent());
    }
    return session();
  }

  /** Waits for the failed state and returns its event ({@code cause}, {@code message}). */
  public JsonObject awaitFailed() {
    Await.until("state failed", () -> lastState().filter(s -> s.equals("failed") || s.equals("ready")).isPresent());
    if (!lastState().orElse("").equals("failed")) {
      throw new AssertionError("expected failed, broker is " + lastStateEvent());
    }
    return lastStateEvent();
  }

  public JsonObject session() {
    return await(vertx.eventBus().<JsonObject>request(Addresses.SESSION_GET, new JsonObject())).body();
  }

  public JsonObject refresh() {
    return await(vertx.eventBus().<JsonObject>request(Addresses.SESSION_REFRESH, new JsonObject())).body();
  }

  /** The last session state (relay.session.state). */
  public Optional<String> lastState() {
    List<JsonObject> session = states();
    return session.isEmpty() ? Optional.empty() : Optional.of(session.get(session.size() - 1).getString("state"));
  }

  public JsonObject lastStateEvent() {
    List<JsonObject> session = states();
    return session.isEmpty() ? new JsonObject() : session.get(session.size() - 1);
  }

  /** relay.session.state events, in order. */
  public List<JsonObject> states() {
    synchronized (states) {
      return new ArrayList<>(states);
    }
  }

  /** relay.presence.state events, in order. */
  public List<JsonObject> presenceStates() {
    synchronized (presence) {
      return new ArrayList<>(presence);
    }
  }

  public Optional<String> lastPresence() {
    List<JsonObject> presence = presenceStates();
    return presence.isEmpty() ? Optional.empty() : Optional.of(presence.get(presence.size() - 1).getString("state"));
  }

  public void awaitPresence(String expected) {
    Await.until("presence " + expected, () -> lastPresence().filter(expected::equals).isPresent());
  }

  public List<String> stateNames() {
    return states().stream().map(s -> s.getString("state")).toList();
  }

  public List<JsonObject> resolvedSessions() {
    synchronized (resolved) {
      return new ArrayList<>(resolved);
    }
  }

  /** The identity verticle's latest snapshot. */
  public dev.relaybroker.session.SessionSnapshot snapshot() {
    return app.snapshot();
  }

  public BrokerApplication app() {
    return app;
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * Stops the broker, then checks what it published and logged: no state or presence event holds a whole key or
   * token, and no log line holds this installation's identity secret (hex or base64).
   */
  @Override
  public void close() {
    try {
      await(app.stop());
    } finally {
      await(vertx.close());
    }
    assertThat(states()).as("state events").noneMatch(s -> CapturedLogs.FULL_SECRET.matcher(s.encode()).find());
    assertThat(presenceStates()).as("presence events").noneMatch(s -> CapturedLogs.FULL_SECRET.matcher(s.encode()).find());
    Path identity = app.options().resolvedStateDir().resolve("identity.key");
    try {
      if (Files.exists(identity)) {
        byte[] secret = Files.readAllBytes(identity);
        String hex = HexFormat.of().formatHex(secret);
        String base64 = Base64.getEncoder().encodeToString(secret);
        assertThat(CapturedLogs.lines()).as("log lines holding the identity secret").noneMatch(l -> l.contains(hex) || l.contains(base64));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
