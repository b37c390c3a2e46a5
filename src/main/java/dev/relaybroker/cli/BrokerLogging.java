package dev.relaybroker.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;

import java.util.Map;
import java.util.TimeZone;

/**
 * The broker's logging, set up in code (found by Logback through {@code META-INF/services}): parsing a logback.xml
 * (SAX parser, Joran's rule tables) was most of the main thread's start-up samples under JFR; this is what that
 * file said.
 *
 * <p>It steps aside for a configuration someone chose: {@code -Dlogback.configurationFile}, or a
 * {@code logback.xml} / {@code logback-test.xml} on the classpath (an application embedding the broker, or the
 * tests), unless {@code -Drelay.broker.logging=builtin} asks for this one anyway.
 */
public final class BrokerLogging extends ContextAwareBase implements Configurator {
  public static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n";

  /** Levels beside the root's WARN. */
  static final Map<String, Level> LEVELS = Map.of(
    "dev.relaybroker", Level.INFO,
    "io.netty", Level.WARN,
    "io.vertx", Level.WARN,
    // "Connection evicted": the client pool closing an idle keep-alive connection, routine and not the user's concern.
    "io.vertx.core.http.impl.HttpClientConnectionInternal", Level.ERROR,
    // "This Gauge has been already registered (vertx.eventbus.handlers)": Vert.x's meters, said once at start.
    "io.micrometer.core.instrument.MeterRegistry", Level.ERROR);

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (!"builtin".equals(System.getProperty("relay.broker.logging")) && someoneElsesConfiguration()) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    apply(context);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  private static boolean someoneElsesConfiguration() {
    ClassLoader loader = BrokerLogging.class.getClassLoader();
    return System.getProperty("logback.configurationFile") != null
      || loader.getResource("logback-test.xml") != null || loader.getResource("logback.xml") != null;
  }

  /** Every line to stderr: stdout belongs to the one line SDKs parse. */
  static void apply(LoggerContext context) {
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    LineLayout layout = new LineLayout();
    layout.setContext(context);
    layout.start();
    encoder.setLayout(layout);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(stderr);
    LEVELS.forEach((name, level) -> context.getLogger(name).setLevel(level));
  }

  /**
   * {@code HH:mm:ss.SSS LEVEL Logger - message}, then the stack trace if any: what the pattern
   * {@value #PATTERN} writes. Written out because Logback's PatternLayout registers its few dozen converters
   * as lambdas when its class loads, the largest part of setting logging up (measured with JFR).
   */
  static final class LineLayout extends LayoutBase<ILoggingEvent> {
    private final TimeZone zone = TimeZone.getDefault();

    @Override
    public String doLayout(ILoggingEvent event) {
      long millis = event.getTimeStamp();
      long ofDay = Math.floorMod(millis + zone.getOffset(millis), 86_400_000L);
      StringBuilder line = new StringBuilder(128);
      twoDigits(line, ofDay / 3_600_000).append(':');
      twoDigits(line, ofDay / 60_000 % 60).append(':');
      twoDigits(line, ofDay / 1000 % 60).append('.');
      long milli = ofDay % 1000;
      line.append(milli < 100 ? (milli < 10 ? "00" : "0") : "").append(milli).append(' ');
      String level = event.getLevel().toString();
      line.append(level).append(" ".repeat(Math.max(0, 5 - level.length()))).append(' ');
      String logger = event.getLoggerName();
      line.append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(" - ").append(event.getFormattedMessage())
        .append(CoreConstants.LINE_SEPARATOR);
      IThrowableProxy thrown = event.getThrowableProxy();
      if (thrown != null) {
        line.append(ThrowableProxyUtil.asString(thrown)).append(CoreConstants.LINE_SEPARATOR);
      }
      return line.toString();
    }

    private static StringBuilder twoDigits(StringBuilder line, long value) {
      return line.append(value < 10 ? "0" : "").append(value);
    }
  }
}
