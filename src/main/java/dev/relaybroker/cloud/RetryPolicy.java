package dev.relaybroker.cloud;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * The one rule for what follows a failure, shared by every loop that waits and tries again: the identity flow's
 * cloud calls, channel membership and presence's reconnects. A policy is immutable and says how long to wait and
 * when to give up; each loop runs its failures as a {@link Streak}, which counts the attempts and decides what
 * the log hears of them.
 *
 * <p>Waits: the n-th is drawn from [½·d, d] where d = initial·2ⁿ⁻¹ capped at max, so many brokers hit by the same
 * outage do not come back in lockstep; a server's Retry-After wins when it asks for longer.
 *
 * <p>The log: the first {@value #LOGGED_IN_FULL} waits of a streak line by line (a person watching the terminal
 * sees at once what is wrong), then at most one line per quiet interval that says how many waits went unlogged.
 * A persist-mode broker retries forever: without this a day-long outage would write a line per backoff cap,
 * megabytes a day; with it, a few kilobytes. The snapshot, {@code /ws} and {@code /metrics} still see every wait.
 */
public final class RetryPolicy {
  static final int LOGGED_IN_FULL = 3;
  static final long DEFAULT_QUIET_INTERVAL_MS = 10 * 60_000L;
  /** No limit on attempts: a persist-mode broker, presence and channel membership try for as long as they run. */
  private static final int UNLIMITED = 0;

  private final long initialMs;
  private final long maxMs;
  private final int maxAttempts;
  private final long quietIntervalMs;
  private final LongSupplier clockMs;

  private RetryPolicy(long initialMs, long maxMs, int maxAttempts, long quietIntervalMs, LongSupplier clockMs) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.maxAttempts = maxAttempts;
    this.quietIntervalMs = quietIntervalMs;
    this.clockMs = clockMs;
  }

  /** Waits from {@code initialMs} doubling up to {@code maxMs}, with no limit on attempts. */
  public static RetryPolicy backoff(long initialMs, long maxMs) {
    return new RetryPolicy(initialMs, maxMs, UNLIMITED, DEFAULT_QUIET_INTERVAL_MS, System::currentTimeMillis);
  }

  /** The same waits, giving up after the {@code maxAttempts}-th failure. */
  public RetryPolicy upTo(int maxAttempts) {
    return new RetryPolicy(initialMs, maxMs, Math.max(1, maxAttempts), quietIntervalMs, clockMs);
  }

  /** The same rule with another quiet interval and clock (tests: a day of retries in no time). */
  RetryPolicy loggingOnceEvery(long quietIntervalMs, LongSupplier clockMs) {
    return new RetryPolicy(initialMs, maxMs, maxAttempts, quietIntervalMs, clockMs);
  }

  /** A new run of failures; event-loop confined, one per loop. */
  public Streak streak() {
    return new Streak();
  }

  /** The wait after the {@code attempt}-th failure (attempts count from 1; below counts as the first). */
  long delayMs(int attempt, Long retryAfterMs) {
    int doublings = Math.min(Math.max(attempt - 1, 0), 30);
    long ceiling = Math.min(maxMs, initialMs << doublings);
    long jittered = ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    long delay = retryAfterMs != null ? Math.max(retryAfterMs, jittered) : jittered;
    // Vert.x timers refuse 0 ms, and "Retry-After: 0" is a legal answer: never less than 1 ms.
    return Math.max(1, delay);
  }

  /** What follows one failure: the attempt that failed and how long to wait before the next. */
  public record Wait(int attempt, long delayMs) {
  }

  /** One loop's failures since it last got through: the attempt count and the log's quiet rule. */
  public final class Streak {
    private int attempt;
    private int logged;
    private int unlogged;
    private long lastLoggedAtMs;

    private Streak() {
    }

    /**
     * One more failure. Null when the loop gives up here: the failure is not transient (retrying cannot help),
     * or it was the last attempt the policy allows; otherwise how long to wait before trying again.
     */
    public Wait failed(boolean transientFailure, Long retryAfterMs) {
      attempt++;
      if (!transientFailure || (maxAttempts != UNLIMITED && attempt >= maxAttempts)) {
        return null;
      }
      return new Wait(attempt, delayMs(attempt, retryAfterMs));
    }

    /** How many attempts failed in this streak so far. */
    public int attempts() {
      return attempt;
    }

    /**
     * The line to log for this wait, or null when it is one of the quiet ones. A line after quiet ones ends with
     * how many there were.
     */
    public String logLine(String message) {
      logged++;
      long now = clockMs.getAsLong();
      if (logged <= LOGGED_IN_FULL || now - lastLoggedAtMs >= quietIntervalMs) {
        String line = unlogged == 0 ? message
          : message + " (" + unlogged + " more " + (unlogged == 1 ? "retry" : "retries") + " since the last line; next line in "
            + interval() + " unless it recovers)";
        if (logged == LOGGED_IN_FULL) {
          line += "; further retries are logged once every " + interval();
        }
        unlogged = 0;
        lastLoggedAtMs = now;
        return line;
      }
      unlogged++;
      return null;
    }

    /** The call went through: the next failure starts a new streak, from the first wait and logged in full again. */
    public void recovered() {
      attempt = 0;
      logged = 0;
      unlogged = 0;
    }

    private String interval() {
      return quietIntervalMs >= 60_000 ? quietIntervalMs / 60_000 + " min" : quietIntervalMs / 1000 + " s";
    }
  }
}
