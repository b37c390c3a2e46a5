package dev.relaybroker.support;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Vert.x options for tests: the blocked-thread checker at 100 ms (Surefire sets the property), two loops. */
public final class TestVertx {
  static {
    dev.relaybroker.cli.Main.warmUpNetty();
    // In a class of its own: its lambdas run on an event loop while this class is still being initialised.
    JvmWarmUp.serverAndClient();
  }

  private TestVertx() {
  }

  /**
   * Runs a chain of Vert.x calls on an event loop of {@code vertx} and hands back its outcome. A test thread must
   * not chain {@code HttpClientResponse.body()} itself: when the response arrives before the test thread attaches
   * the next step, the body goes by with no handler and the future never completes (seen under a loaded machine).
   */
  public static <T> Future<T> onContext(Vertx vertx, Supplier<Future<T>> chain) {
    Promise<T> outcome = Promise.promise();
    vertx.runOnContext(v -> chain.get().onComplete(outcome));
    return outcome.future();
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
