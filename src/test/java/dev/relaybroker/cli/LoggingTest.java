package dev.relaybroker.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The production logging setup (src/main/resources/logback.xml) as a user's terminal gets it. */
class LoggingTest {
  @Test
  void routineVertxClientNoiseNeverReachesTheTerminalWhileOurInfoAndVertxWarningsDo() throws Exception {
    LoggerContext context = new LoggerContext();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(Path.of("src/main/resources/logback.xml").toFile());

    // "WARN HttpClientConnectionInternal - Connection evicted": the pool closing an idle keep-alive connection.
    assertThat(context.getLogger("io.vertx.core.http.impl.HttpClientConnectionInternal").isEnabledFor(Level.WARN)).isFalse();
    assertThat(context.getLogger("io.vertx.core.http.impl.HttpClientConnectionInternal").isEnabledFor(Level.ERROR)).isTrue();
    assertThat(context.getLogger("io.vertx.core.impl.BlockedThreadChecker").isEnabledFor(Level.WARN)).isTrue();
    assertThat(context.getLogger("dev.relaybroker.identity.IdentityVerticle").isEnabledFor(Level.INFO)).isTrue();
  }
}
