package dev.relaybroker.cloud;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: the n-th wait is drawn from [½·d, d] where d = initial·2ⁿ⁻¹ capped at max,
 * so many brokers hit by the same outage do not come back in lockstep. A server's Retry-After wins when it
 * asks for longer.
 */
public final class Backoff {
  private final long initialMs;
  private final long maxMs;

  public Backoff(long initialMs, long maxMs) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
  }

  public long delayMs(int attempt, Long retryAfterMs) {
    int doublings = Math.min(Math.max(attempt - 1, 0), 30);
    long ceiling = Math.min(maxMs, initialMs << doublings);
    long jittered = ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    long delay = retryAfterMs != null ? Math.max(retryAfterMs, jittered) : jittered;
    // Vert.x timers refuse 0 ms, and "Retry-After: 0" is a legal answer: never less than 1 ms.
    return Math.max(1, delay);
  }
}
