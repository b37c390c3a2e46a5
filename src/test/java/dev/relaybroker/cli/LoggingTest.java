package dev.relaybroker.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The production logging setup ({@link BrokerLogging}) as a user's terminal gets it. */
class LoggingTest {
  @Test
  void routineVertxClientNoiseNeverReachesTheTerminalWhileOurInfoAndVertxWarningsDo() {
    LoggerContext context = new LoggerContext();
    BrokerLogging.apply(context);

    // "WARN HttpClientConnectionInternal - Connection evicted": the pool closing an idle keep-alive connection.
    assertThat(context.getLogger("io.vertx.core.http.impl.HttpClientConnectionInternal").isEnabledFor(Level.WARN)).isFalse();
    assertThat(context.getLogger("io.vertx.core.http.impl.HttpClientConnectionInternal").isEnabledFor(Level.ERROR)).isTrue();
    assertThat(context.getLogger("io.vertx.core.impl.BlockedThreadChecker").isEnabledFor(Level.WARN)).isTrue();
    assertThat(context.getLogger("io.vertx.core.impl.BlockedThreadChecker").isEnabledFor(Level.INFO)).isFalse();
    assertThat(context.getLogger("dev.relaybroker.identity.IdentityVerticle").isEnabledFor(Level.INFO)).isTrue();
    assertThat(context.getLogger("dev.relaybroker.identity.IdentityVerticle").isEnabledFor(Level.DEBUG)).isFalse();
    assertThat(context.getLogger("org.example.Anything").isEnabledFor(Level.INFO)).isFalse();
    assertThat(context.getLogger("ROOT").getAppender("STDERR")).isNotNull();
  }

  @Test
  void aLineReadsAsTheLogbackPatternItReplacesWrites() {
    LoggerContext context = new LoggerContext();
    ch.qos.logback.classic.PatternLayout pattern = new ch.qos.logback.classic.PatternLayout();
    pattern.setContext(context);
    pattern.setPattern(BrokerLogging.PATTERN);
    pattern.start();
    BrokerLogging.LineLayout line = new BrokerLogging.LineLayout();
    line.setContext(context);
    line.start();
    ch.qos.logback.classic.Logger logger = context.getLogger("dev.relaybroker.identity.IdentityVerticle");
    for (long at : new long[] {0L, 1_764_700_000_007L, 1_764_739_999_999L}) {
      for (Level level : new Level[] {Level.INFO, Level.WARN, Level.ERROR}) {
        ch.qos.logback.classic.spi.LoggingEvent event = new ch.qos.logback.classic.spi.LoggingEvent(
          "x", logger, level, "Agent '{}' is {}", null, new Object[] {"alpha", "online"});
        event.setTimeStamp(at);
        assertThat(line.doLayout(event)).isEqualTo(pattern.doLayout(event));
      }
    }
    ch.qos.logback.classic.spi.LoggingEvent failed = new ch.qos.logback.classic.spi.LoggingEvent(
      "x", logger, Level.WARN, "handler failed", new IllegalStateException("boom"), null);
    assertThat(line.doLayout(failed)).startsWith(pattern.doLayout(failed).lines().findFirst().orElseThrow() + System.lineSeparator()
      + "java.lang.IllegalStateException: boom").contains("\tat dev.relaybroker.cli.LoggingTest");
  }

  @Test
  void itStepsAsideForAConfigurationOnTheClasspathUnlessAskedForByName() {
    // The test classpath holds logback-test.xml, as an embedding application holds its own logback.xml.
    assertThat(new BrokerLogging().configure(new LoggerContext())).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
    System.setProperty("relay.broker.logging", "builtin");
    try {
      LoggerContext context = new LoggerContext();
      assertThat(new BrokerLogging().configure(context)).isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
      assertThat(context.getLogger("dev.relaybroker").getLevel()).isEqualTo(Level.INFO);
    } finally {
      System.clearProperty("relay.broker.logging");
    }
  }
}
