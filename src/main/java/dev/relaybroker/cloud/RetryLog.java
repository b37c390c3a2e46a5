package dev.relaybroker.cloud;

import java.util.function.LongSupplier;

/**
 * How one retry loop speaks in the log: the first {@value #LOGGED_IN_FULL} waits of a streak line by line (a person
 * watching the terminal sees at once what is wrong), then at most one line per {@link #quietIntervalMs} that also
 * says how many waits went unlogged. A persist-mode broker retries forever, so without this a day-long outage would
 * write a line per backoff cap, megabytes a day; with it, a few kilobytes. The snapshot, {@code /ws} and
 * {@code /metrics} still see every attempt. Event-loop confined: one instance per verticle.
 */
public final class RetryLog {
  static final int LOGGED_IN_FULL = 3;
  static final long DEFAULT_QUIET_INTERVAL_MS = 10 * 60_000L;

  private final long quietIntervalMs;
  private final LongSupplier clockMs;
  private int streak;
  private int unlogged;
  private long lastLoggedAtMs;

  public RetryLog() {
    this(DEFAULT_QUIET_INTERVAL_MS, System::currentTimeMillis);
  }

  RetryLog(long quietIntervalMs, LongSupplier clockMs) {
    this.quietIntervalMs = quietIntervalMs;
    this.clockMs = clockMs;
  }

  /**
   * One more wait in the streak: the line to log for it, or null when it is one of the quiet ones. A line after
   * quiet ones ends with how many there were.
   */
  public String line(String message) {
    streak++;
    long now = clockMs.getAsLong();
    if (streak <= LOGGED_IN_FULL || now - lastLoggedAtMs >= quietIntervalMs) {
      String line = unlogged == 0 ? message
        : message + " (" + unlogged + " more " + (unlogged == 1 ? "retry" : "retries") + " since the last line; next line in "
          + interval() + " unless it recovers)";
      if (streak == LOGGED_IN_FULL) {
        line += "; further retries are logged once every " + interval();
      }
      unlogged = 0;
      lastLoggedAtMs = now;
      return line;
    }
    unlogged++;
    return null;
  }

  private String interval() {
    return quietIntervalMs >= 60_000 ? quietIntervalMs / 60_000 + " min" : quietIntervalMs / 1000 + " s";
  }

  /** The call went through: the next failure starts a new streak, logged in full again. */
  public void recovered() {
    streak = 0;
    unlogged = 0;
  }
}
