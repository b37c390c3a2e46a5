package dev.relaybroker.support;

import io.vertx.core.VertxOptions;

import java.util.concurrent.TimeUnit;

/** Vert.x options for tests: the blocked-thread checker at 100 ms (Surefire sets the property), two loops. */
public final class TestVertx {
  static {
    dev.relaybroker.cli.Main.warmUpNetty();
    // In a class of its own: its lambdas run on an event loop while this class is still being initialised.
    JvmWarmUp.serverAndClient();
  }

  private TestVertx() {
  }

  public static VertxOptions options() {
    long checkMs = Long.getLong("relay.broker.blockedThreadCheckMs", 100);
    return new VertxOptions()
      .setEventLoopPoolSize(2)
      .setWorkerPoolSize(2)
      .setBlockedThreadCheckInterval(checkMs)
      .setMaxEventLoopExecuteTime(checkMs)
      .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
      // A stack trace with the first warning, so a block is found rather than guessed at.
      .setWarningExceptionTime(checkMs)
      .setWarningExceptionTimeUnit(TimeUnit.MILLISECONDS);
  }
}
