package dev.relaybroker.support;

import io.vertx.core.Vertx;

import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.Delayed;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The one-shot timers a Vert.x instance still has pending, read from its internals: Vert.x has no public count,
 * and a timer left armed after its job is done keeps what its handler captured (a request, a connection) alive.
 * Pinned to Vert.x 5.0's {@code VertxImpl.timeouts}; a change there fails loudly here rather than passing quietly.
 */
public final class PendingTimers {
  private PendingTimers() {
  }

  /** One-shot timers that fire more than {@code ms} from now. */
  public static long firingLaterThan(Vertx vertx, long ms) {
    try {
      Field timeouts = vertx.getClass().getDeclaredField("timeouts");
      timeouts.setAccessible(true);
      long count = 0;
      for (Object handler : ((Map<?, ?>) timeouts.get(vertx)).values()) {
        Field periodic = handler.getClass().getDeclaredField("periodic");
        Field future = handler.getClass().getDeclaredField("future");
        periodic.setAccessible(true);
        future.setAccessible(true);
        Future<?> scheduled = (Future<?>) future.get(handler);
        if (!periodic.getBoolean(handler) && scheduled instanceof Delayed delayed
          && delayed.getDelay(TimeUnit.MILLISECONDS) > ms) {
          count++;
        }
      }
      return count;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("Vert.x's timer internals changed: " + e, e);
    }
  }
}
