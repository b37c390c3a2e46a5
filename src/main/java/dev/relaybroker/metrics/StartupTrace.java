package dev.relaybroker.metrics;

/**
 * {@code -Drelay.broker.startupTrace=true}: one stderr line per step of the way to a ready session, in milliseconds
 * since the launcher ran, so a start-up lever can be measured where it acts. Costs nothing when off.
 */
public final class StartupTrace {
  private static final boolean ON = Boolean.getBoolean("relay.broker.startupTrace");
  /** When the launcher ran (it passes the time); else when the JVM started, to the second only (from /proc). */
  private static final long JVM_START_MS = !ON ? 0 : Long.getLong("relay.broker.launchedAtUs", 0) > 0
    ? Long.getLong("relay.broker.launchedAtUs") / 1000
    : ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(System.currentTimeMillis());

  private StartupTrace() {
  }

  public static void mark(String step) {
    if (ON) {
      System.err.println("startup: " + (System.currentTimeMillis() - JVM_START_MS) + " ms " + step);
    }
  }
}
