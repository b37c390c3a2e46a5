package dev.relaybroker.cli;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.bus.Addresses;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.ConfigInvalidException;
import dev.relaybroker.config.ConfigLoader;
import dev.relaybroker.emulator.EmulatorOptions;
import dev.relaybroker.emulator.EmulatorVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The process entry point: parse, load config, deploy, and map outcomes to exit codes (0 clean stop, 1 start
 * failure, 2 invalid configuration, 3 state dir held by another broker). stdout carries only the listening line
 * (and --help / --version); everything else goes to stderr through the logger.
 */
public final class Main {
  public static final int EXIT_START_FAILED = 1;
  public static final int EXIT_CONFIG_INVALID = 2;
  public static final int EXIT_ALREADY_RUNNING = 3;

  private Main() {
  }

  public static void main(String[] args) {
    warmUpNetty();
    CommandLine commandLine = CommandLine.parse(args);
    if (!commandLine.problems.isEmpty()) {
      exitWithProblems(commandLine.problems);
    }
    switch (commandLine.command) {
      case HELP -> System.out.println(CommandLine.usage());
      case VERSION -> System.out.println(BrokerVersion.NAME + " " + BrokerVersion.VERSION);
      case EMULATOR -> runEmulator(commandLine);
      default -> runBroker(commandLine);
    }
  }

  /**
   * Netty 4.2's adaptive allocator initialises a JFR event class on its first allocation, and JFR generates
   * bytecode for it: about 100 ms, once per JVM. Done here on the main thread, it never stalls an event loop.
   */
  public static void warmUpNetty() {
    io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(1).release();
    io.netty.buffer.ByteBufAllocator.DEFAULT.heapBuffer(1).release();
  }

  static VertxOptions vertxOptions() {
    long blockedCheckMs = Long.getLong("relay.broker.blockedThreadCheckMs", 1000);
    // One event loop serves a broker; a small worker pool keeps the idle footprint small.
    return new VertxOptions()
      .setEventLoopPoolSize(1)
      .setWorkerPoolSize(2)
      .setInternalBlockingPoolSize(2)
      .setBlockedThreadCheckInterval(blockedCheckMs)
      .setMaxEventLoopExecuteTime(Math.max(blockedCheckMs, 100))
      .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS);
  }

  private static void runBroker(CommandLine commandLine) {
    Vertx vertx = Vertx.vertx(vertxOptions());
    BrokerOptions options;
    try {
      options = await(ConfigLoader.load(vertx, configFile(commandLine), ConfigLoader.processEnvironment(), commandLine.flags));
    } catch (ConfigInvalidException invalid) {
      vertx.close();
      exitWithProblems(invalid.problems());
      return;
    }
    BrokerApplication app;
    try {
      app = await(BrokerApplication.start(vertx, options));
    } catch (RuntimeException failure) {
      Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
      if (cause instanceof StateDirLock.HeldElsewhere held) {
        System.err.println("relay-broker: " + held.getMessage());
        halt(vertx, EXIT_ALREADY_RUNNING);
      }
      System.err.println("relay-broker: could not start: " + cause.getMessage());
      halt(vertx, EXIT_START_FAILED);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        app.stop().compose(v -> vertx.close()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("relay-broker: shutdown was not clean: " + e);
      }
    }, "relay-broker-shutdown"));
    // /api/shutdown and the owner lease end the process through the same path as SIGTERM. System.exit runs on
    // its own thread: called from the event loop, it would wait for hooks that need that very event loop.
    vertx.eventBus().<String>consumer(Addresses.BROKER_SHUTDOWN, message -> exitGracefully(message.body()));
    // A supervisor's SIGTERM or a Ctrl-C is a requested stop, not a crash: the same graceful path, exit 0.
    for (String signal : List.of("TERM", "INT")) {
      sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> exitGracefully("SIG" + signal));
    }
  }

  private static void exitGracefully(String reason) {
    System.err.println("relay-broker: stopping (" + reason + ")");
    new Thread(() -> System.exit(0), "relay-broker-exit").start();
  }

  private static void runEmulator(CommandLine commandLine) {
    Vertx vertx = Vertx.vertx(vertxOptions());
    EmulatorOptions options = new EmulatorOptions(commandLine.emulator);
    List<String> problems = options.validate();
    if (!problems.isEmpty()) {
      exitWithProblems(problems);
    }
    EmulatorVerticle emulator = new EmulatorVerticle(options);
    try {
      await(vertx.deployVerticle(emulator));
    } catch (RuntimeException e) {
      System.err.println("relay-broker: emulator could not start: " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
      halt(vertx, EXIT_START_FAILED);
    }
    System.out.println("Relaycast emulator (" + options.getEngine().wireName() + " engine) listening on " + emulator.baseUrl());
    System.out.flush();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }));
  }

  private static String configFile(CommandLine commandLine) {
    if (commandLine.configFile != null) {
      return commandLine.configFile;
    }
    String home = System.getProperty("relay.broker.home");
    return (home != null ? Path.of(home, "conf", "config.json") : Path.of("conf", "config.json")).toString();
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime && !(e.getCause() instanceof IllegalStateException)) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    }
  }

  private static void exitWithProblems(List<String> problems) {
    System.err.println("relay-broker: " + ConfigInvalidException.CODE + ": the configuration has "
      + problems.size() + (problems.size() == 1 ? " problem:" : " problems:"));
    problems.forEach(p -> System.err.println("  - " + p));
    System.exit(EXIT_CONFIG_INVALID);
  }

  private static void halt(Vertx vertx, int code) {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // exiting anyway
    }
    System.exit(code);
  }
}
