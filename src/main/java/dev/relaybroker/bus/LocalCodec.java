package dev.relaybroker.bus;

import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionUnavailable;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Passes an immutable object between verticles of one JVM as it is: no JSON round trip, and nothing that could
 * carry a token ever reaches the wire (encoding throws, so a clustered send fails instead of leaking).
 */
public final class LocalCodec<T> implements MessageCodec<T, T> {
  private final Class<T> type;

  private LocalCodec(Class<T> type) {
    this.type = type;
  }

  /** Registers the broker's codecs on this Vert.x once; brokers sharing a Vert.x share them. */
  public static synchronized void registerAll(Vertx vertx) {
    register(vertx, SessionSnapshot.class);
    register(vertx, SessionUnavailable.class);
  }

  private static <T> void register(Vertx vertx, Class<T> type) {
    try {
      vertx.eventBus().registerDefaultCodec(type, new LocalCodec<>(type));
    } catch (IllegalStateException alreadyRegistered) {
      // another broker in this Vert.x did it
    }
  }

  @Override
  public void encodeToWire(Buffer buffer, T value) {
    throw new IllegalStateException(type.getSimpleName() + " is local only: it may hold a token");
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    throw new IllegalStateException(type.getSimpleName() + " is local only");
  }

  @Override
  public T transform(T value) {
    return value; // immutable
  }

  @Override
  public String name() {
    return "relay-broker-local-" + type.getSimpleName();
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
