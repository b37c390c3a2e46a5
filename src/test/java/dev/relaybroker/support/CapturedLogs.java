package dev.relaybroker.support;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A Logback appender (wired in logback-test.xml) that keeps every log line of the test JVM, exception texts
 * included, so tests can assert that no secret was ever logged and that the blocked-thread checker stayed quiet.
 */
public class CapturedLogs extends AppenderBase<ILoggingEvent> {
  private static final List<String> LINES = new ArrayList<>();
  private static final List<String> BLOCKED = new ArrayList<>();
  /** A whole workspace key, agent token or broker API key (the short prefixes people see are fine). */
  public static final Pattern FULL_SECRET = Pattern.compile("(rk_(live|test)_|at_live_|br_)[0-9a-f]{16,}");

  @Override
  protected void append(ILoggingEvent event) {
    StringBuilder line = new StringBuilder(event.getLoggerName()).append(" ").append(event.getFormattedMessage());
    for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
      line.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
    }
    synchronized (LINES) {
      LINES.add(line.toString());
      if (event.getLoggerName().contains("BlockedThreadChecker")) {
        BLOCKED.add(line.toString());
      }
    }
  }

  public static List<String> lines() {
    synchronized (LINES) {
      return new ArrayList<>(LINES);
    }
  }

  public static List<String> blockedThreadWarnings() {
    synchronized (LINES) {
      return new ArrayList<>(BLOCKED);
    }
  }

  public static int mark() {
    synchronized (LINES) {
      return LINES.size();
    }
  }

  public static List<String> since(int mark) {
    synchronized (LINES) {
      return new ArrayList<>(LINES.subList(Math.min(mark, LINES.size()), LINES.size()));
    }
  }
}
