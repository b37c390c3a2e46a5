package dev.relaybroker.bus;

import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.Session;
import dev.relaybroker.session.SessionState;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

/**
 * A typed view of the broker's event-bus addresses ({@link Addresses}) for JVM consumers in the broker's Vert.x:
 * no JSON bodies, no {@code "code: text"} strings. Failures are {@link SessionUnavailable}: a {@link BrokerFailure}
 * with its {@link FailureCause} (502 failed, 409 superseded), or "not ready yet" with what the broker waits for (503).
 */
public final class SessionClient {
  /** One transition of {@code relay.session.state}. */
  public record StateChange(SessionState state, String message, FailureCause cause, Integer attempt) {
  }

  /** One transition of {@code relay.presence.state}. */
  public record PresenceChange(PresenceState state, String agentName, String message) {
  }

  private final Vertx vertx;
  private final BrokerBus bus;

  private SessionClient(Vertx vertx, BrokerBus bus) {
    this.vertx = vertx;
    this.bus = bus;
  }

  /** A client of the broker running in this Vert.x on the SPEC's addresses (see {@code dev.relaybroker.RelayBroker}). */
  public static SessionClient create(Vertx vertx) {
    return create(vertx, null);
  }

  /** A client of the broker deployed with {@code BrokerOptions.setBusName(busName)} (null: the unnamed one). */
  public static SessionClient create(Vertx vertx, String busName) {
    LocalCodec.registerAll(vertx);
    return new SessionClient(vertx, BrokerBus.of(busName));
  }

  /**
   * The current session. Before the first one exists the request is held until it does (or has failed), up to the
   * event bus's delivery timeout (30 s); then it fails as not ready yet.
   */
  public Future<Session> get() {
    return vertx.eventBus().<JsonObject>request(bus.sessionGet(), null, new DeliveryOptions().setLocalOnly(true))
      .map(reply -> Session.fromJson(reply.body()));
  }

  /** Rolls the token over; the new session, or why not (the current session stays served meanwhile). */
  public Future<Session> refresh() {
    return vertx.eventBus().<JsonObject>request(bus.sessionRefresh(), null,
        new DeliveryOptions().setLocalOnly(true).setSendTimeout(120_000))
      .map(reply -> Session.fromJson(reply.body()));
  }

  /** Every session-state transition; unregister the returned consumer to stop. */
  public MessageConsumer<JsonObject> states(Handler<StateChange> handler) {
    return vertx.eventBus().<JsonObject>consumer(bus.sessionState(), message -> {
      JsonObject body = message.body();
      SessionState state;
      try {
        state = SessionState.parse(body.getString("state", ""));
      } catch (IllegalArgumentException unknown) {
        return;
      }
      FailureCause cause = null;
      if (body.getValue("cause") instanceof String code) {
        try {
          cause = FailureCause.parse(code);
        } catch (IllegalArgumentException unknown) {
          // a newer broker's cause: the message still says it
        }
      }
      handler.handle(new StateChange(state, body.getString("message"), cause, body.getInteger("attempt")));
    });
  }

  /** Every presence transition of the agent's realtime connection. */
  public MessageConsumer<JsonObject> presence(Handler<PresenceChange> handler) {
    return vertx.eventBus().<JsonObject>consumer(bus.presenceState(), message -> {
      try {
        handler.handle(new PresenceChange(PresenceState.parse(message.body().getString("state", "")),
          message.body().getString("agentName"), message.body().getString("message")));
      } catch (IllegalArgumentException unknown) {
        // not a state this client knows
      }
    });
  }

  /** Every {@link SessionSnapshot}, as the broker publishes it (the object itself, local only). */
  public MessageConsumer<SessionSnapshot> snapshots(Handler<SessionSnapshot> handler) {
    return vertx.eventBus().<SessionSnapshot>localConsumer(bus.sessionSnapshot(), message -> handler.handle(message.body()));
  }
}
