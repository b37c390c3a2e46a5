package dev.relaybroker.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

import java.util.Map;

/**
 * The broker's logging, set up in code (found by Logback through {@code META-INF/services}): parsing a logback.xml
 * costs about a fifth of the broker's start-up (SAX parser, Joran's rule tables), and this is what that file said.
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
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
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
}
